// Shared forward blocks (see blocks.h).
#include "model/blocks.h"

namespace hotrod::model {

void add_bias(backend::Backend& be, TensorView t, const TensorView& bias) {
    for (int64_t r = 0; r < t.n_rows; ++r) be.add(t.rows(r, 1), bias);
}

void qkv_projections(Step& s, const LayerWeights& L, const TensorView& xn) {
    const backend::MatmulOut qkv[] = {{L.attn_q, s.a.q}, {L.attn_k, s.a.k}, {L.attn_v, s.a.v}};
    s.be.matmul_shared(xn, qkv);
}

namespace {
// gate/up, the activation: s.a.hidden.
void ffn_hidden(Step& s, const LayerWeights& L, const TensorView& xn) {
    const backend::MatmulOut gate_up[] = {{L.ffn_gate, s.a.gate}, {L.ffn_up, s.a.up}};
    s.be.matmul_shared(xn, gate_up);
    s.dump("ffn_gate", s.il, s.a.gate);
    s.dump("ffn_up", s.il, s.a.up);
    if (s.c.ffn_act == FfnActivation::GeluTanh) s.be.geglu(s.a.gate, s.a.up, s.a.hidden);
    else s.be.swiglu(s.a.gate, s.a.up, s.a.hidden);
    s.dump("ffn_act", s.il, s.a.hidden);
}
}  // namespace

void gated_ffn(Step& s, const LayerWeights& L, const TensorView& xn, TensorView out) {
    ffn_hidden(s, L, xn);
    s.be.matmul(L.ffn_down, s.a.hidden, out);
    s.be.all_reduce(out);
    s.dump("ffn_out", s.il, out);
}

void gated_ffn_residual(Step& s, const LayerWeights& L, const TensorView& xn, TensorView out, TensorView x) {
    ffn_hidden(s, L, xn);
    s.be.matmul_residual(L.ffn_down, s.a.hidden, out, x);
}

void output_logits(Step& s) {
    if (!s.embd_rows.empty()) {
        s.be.gather_rows(s.a.x, s.embd_rows, s.a.embd_x);
        s.be.rms_norm(s.a.embd_x, s.w.output_norm, s.c.rms_eps, s.a.embd_xn);
        s.dump("result_norm_embd", -1, s.a.embd_xn);
    }
    if (s.logit_rows.empty()) return;
    s.be.begin_logits();
    s.be.gather_rows(s.a.x, s.logit_rows, s.a.out_x);
    s.be.rms_norm(s.a.out_x, s.w.output_norm, s.c.rms_eps, s.a.out_xn);
    s.dump("result_norm", -1, s.a.out_xn);
    s.be.matmul(s.w.output, s.a.out_xn, s.a.logits);
}

}  // namespace hotrod::model
