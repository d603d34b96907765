// Qwen3.5 (GGUF architecture `qwen35`): a hybrid of gated delta-net layers ("linear attention", 3 of every 4)
// and full-attention layers (every 4th), each followed by a SwiGLU FFN.
//   Full attention: attn_q yields per head the query and an output gate; QK-norm; partial NeoX RoPE (the first
//   rope.dimension_count of head_dim: the model's M-RoPE sections coincide for text, where every section gets the
//   same position); GQA attention; output *= sigmoid(gate); attn_output.
//   Delta net: attn_qkv -> causal conv1d (per-sequence state of the last conv_kernel - 1 inputs) -> SiLU ->
//   q, k L2-normalised per head; decay g = -exp(A_log) * softplus(alpha + dt_bias), beta = sigmoid(beta_in);
//   the delta rule on a per-sequence state S (v_heads x head_dim x head_dim); a gated RMSNorm with z; ssm_out.
// Every width comes from the GGUF keys ({arch}.ssm.*, full_attention_interval, rope.dimension_count).
// Norm weights are stored as the model multiplies by them (the converter folds Qwen's 1 + w into the file).
#include <cmath>

#include "gguf/reader.h"
#include "model/arch.h"
#include "model/blocks.h"
#include "model/recurrent_state.h"

namespace hotrod::model {

Config read_config_qwen35(const gguf::File& f) {
    Config c = read_common_config(f);
    c.rope_kind = backend::RopeKind::NeoX;
    c.qk_norm = true;
    c.attn_output_gate = true;
    DeltaNetConfig& d = c.delta_net;
    d.n_k_heads = f.get<int>("{arch}.ssm.group_count");
    d.n_v_heads = f.get<int>("{arch}.ssm.time_step_rank");
    d.head_dim = f.get<int>("{arch}.ssm.state_size");
    d.conv_kernel = f.get<int>("{arch}.ssm.conv_kernel");
    const int inner = f.get<int>("{arch}.ssm.inner_size");
    if (inner != d.n_v_heads * d.head_dim)
        throw Error(f.path() + ": key qwen35.ssm.inner_size: expected time_step_rank x state_size = " +
                    std::to_string(d.n_v_heads * d.head_dim) + ", found " + std::to_string(inner));
    // Which layers are delta nets: an explicit per-layer list, else every layer but each full_attention_interval-th.
    c.recurrent_layers.assign(size_t(c.n_layers), 0);
    if (auto list = f.find_array<bool>("{arch}.attention.recurrent_layers")) {
        if (int(list->size()) < c.n_layers)
            throw Error(f.path() + ": key qwen35.attention.recurrent_layers: expected " + std::to_string(c.n_layers) +
                        " entries, found " + std::to_string(list->size()));
        for (int il = 0; il < c.n_layers; ++il) c.recurrent_layers[size_t(il)] = (*list)[size_t(il)] ? 1 : 0;
    } else {
        const int interval = f.find<int>("{arch}.full_attention_interval").value_or(4);
        if (interval <= 0) throw Error(f.path() + ": key qwen35.full_attention_interval: expected > 0");
        for (int il = 0; il < c.n_layers; ++il) c.recurrent_layers[size_t(il)] = (il + 1) % interval != 0;
    }
    return c;
}

Manifest manifest_qwen35(const Config& c) {
    Manifest m;
    const DeltaNetConfig& d = c.delta_net;
    const int64_t q_width = int64_t(c.n_heads) * c.head_dim, kv_width = int64_t(c.n_kv_heads) * c.head_dim;
    const int64_t v_width = int64_t(d.n_v_heads) * d.head_dim;
    m.global("token_embd.weight", {c.n_embd, c.n_vocab}, &Weights::token_embd);
    m.global("output_norm.weight", {c.n_embd}, &Weights::output_norm);
    m.global("output.weight", {c.n_embd, c.n_vocab}, &Weights::output, /*optional=*/true);
    for (int il = 0; il < c.n_layers; ++il) {
        m.layer(il, "attn_norm.weight", {c.n_embd}, &LayerWeights::attn_norm);
        if (c.is_recurrent(il)) {
            m.layer(il, "attn_qkv.weight", {c.n_embd, d.conv_channels()}, &LayerWeights::dn_qkv);
            m.layer(il, "attn_gate.weight", {c.n_embd, v_width}, &LayerWeights::dn_z);
            m.layer(il, "ssm_conv1d.weight", {d.conv_kernel, d.conv_channels()}, &LayerWeights::dn_conv);
            m.layer(il, "ssm_alpha.weight", {c.n_embd, d.n_v_heads}, &LayerWeights::dn_alpha);
            m.layer(il, "ssm_beta.weight", {c.n_embd, d.n_v_heads}, &LayerWeights::dn_beta);
            m.layer(il, "ssm_dt.bias", {d.n_v_heads}, &LayerWeights::dn_dt_bias);
            m.layer(il, "ssm_a", {d.n_v_heads}, &LayerWeights::dn_a);
            m.layer(il, "ssm_norm.weight", {d.head_dim}, &LayerWeights::dn_norm);
            m.layer(il, "ssm_out.weight", {v_width, c.n_embd}, &LayerWeights::dn_out);
        } else {
            m.layer(il, "attn_q.weight", {c.n_embd, 2 * q_width}, &LayerWeights::attn_q);  // query and gate
            m.layer(il, "attn_k.weight", {c.n_embd, kv_width}, &LayerWeights::attn_k);
            m.layer(il, "attn_v.weight", {c.n_embd, kv_width}, &LayerWeights::attn_v);
            m.layer(il, "attn_q_norm.weight", {c.head_dim}, &LayerWeights::attn_q_norm);
            m.layer(il, "attn_k_norm.weight", {c.head_dim}, &LayerWeights::attn_k_norm);
            m.layer(il, "attn_output.weight", {q_width, c.n_embd}, &LayerWeights::attn_output);
        }
        // The norm before the FFN is named for where it sits in the HF model (after the attention's residual).
        m.layer(il, "post_attention_norm.weight", {c.n_embd}, &LayerWeights::ffn_norm);
        m.layer(il, "ffn_gate.weight", {c.n_embd, c.n_ff}, &LayerWeights::ffn_gate);
        m.layer(il, "ffn_up.weight", {c.n_embd, c.n_ff}, &LayerWeights::ffn_up);
        m.layer(il, "ffn_down.weight", {c.n_ff, c.n_embd}, &LayerWeights::ffn_down);
    }
    return m;
}

namespace {

// Columns [first, first + count) of an F32 activation view (the convolved q, k and v sit side by side in one row;
// the attention gate is every other head of attn_q's output).
TensorView cols(const TensorView& t, int64_t first, int64_t count) {
    TensorView v = t;
    v.data = t.f32() + first;
    v.n_cols = count;
    return v;
}

// Full attention with an output gate: attn_q gives per head [query | gate]; the query is QK-normed and partly
// rotated as Qwen3's, and the attention output is scaled by sigmoid(gate) before attn_output.
void gated_attention(Step& s, const LayerWeights& L, int il) {
    const Config& c = s.c;
    backend::Backend& be = s.be;
    Activations& a = s.a;
    const backend::MatmulOut qkv[] = {{L.attn_q, a.qg}, {L.attn_k, a.k}, {L.attn_v, a.v}};
    be.matmul_shared(a.xn, qkv);
    be.copy_heads(a.qg, c.head_dim, 2 * c.head_dim, a.q);
    const backend::KvLayerView cache = s.kv.layer(il);
    be.prepare_attention(a.q, a.k, a.v, {&L.attn_q_norm, &L.attn_k_norm, c.rms_eps, c.head_dim, c.rope(il)}, cache,
                         s.layout);
    be.attention(a.q, cache, s.layout, c.attention(il), a.attn);
    s.dump("attn_pregate", il, a.attn);
    be.sigmoid_gate(a.attn, cols(a.qg, c.head_dim, a.qg.n_cols - c.head_dim), c.head_dim, 2 * c.head_dim);
    s.dump("attn_gated", il, a.attn);
    be.matmul_residual(L.attn_output, a.attn, a.proj, a.x);
}

// The gated delta net: project q, k, v (one row, side by side), z and the two per-head gate inputs; run the
// causal conv1d with SiLU over q, k, v (state: the sequence's last conv_kernel - 1 projected rows); turn alpha
// and beta into the decay g and the update strength; run the delta rule (q and k L2-normalised inside, q scaled
// by 1/sqrt(head_dim); state: per value head a head_dim x head_dim matrix); norm each head's output gated by
// silu(z); project out.
void delta_net(Step& s, const LayerWeights& L, int il) {
    const Config& c = s.c;
    const DeltaNetConfig& d = c.delta_net;
    backend::Backend& be = s.be;
    Activations& a = s.a;
    const RecurrentState& rs = *s.kv.recurrent();
    const backend::MatmulOut proj[] = {
        {L.dn_qkv, a.dn_qkv}, {L.dn_z, a.dn_z}, {L.dn_alpha, a.dn_g}, {L.dn_beta, a.dn_beta}};
    be.matmul_shared(a.xn, proj);
    s.dump("linear_attn_qkv_mixed", il, a.dn_qkv);
    be.conv1d_causal(a.dn_qkv, L.dn_conv, rs.conv(il), s.recurrent, /*silu=*/true, a.dn_qkv);
    s.dump("conv_output_silu", il, a.dn_qkv);
    be.delta_gates(a.dn_g, a.dn_beta, L.dn_a, L.dn_dt_bias, a.dn_g, a.dn_beta);

    const int64_t k_width = int64_t(d.n_k_heads) * d.head_dim, v_width = int64_t(d.n_v_heads) * d.head_dim;
    backend::DeltaRuleParams p;
    p.n_k_heads = d.n_k_heads;
    p.n_v_heads = d.n_v_heads;
    p.head_dim = d.head_dim;
    p.scale = 1.0f / std::sqrt(float(d.head_dim));
    p.l2_norm = true;
    p.l2_eps = c.rms_eps;
    be.gated_delta_rule(cols(a.dn_qkv, 0, k_width), cols(a.dn_qkv, k_width, k_width),
                        cols(a.dn_qkv, 2 * k_width, v_width), a.dn_g, a.dn_beta, rs.state(il), s.recurrent, p,
                        a.dn_out);
    s.dump("delta_out", il, a.dn_out);
    be.rms_norm_gated(a.dn_out, L.dn_norm, a.dn_z, d.head_dim, c.rms_eps, a.dn_out);
    s.dump("final_output", il, a.dn_out);
    be.matmul_residual(L.dn_out, a.dn_out, a.proj, a.x);
}

}  // namespace

void forward_qwen35(Step& s) {
    const Config& c = s.c;
    backend::Backend& be = s.be;
    Activations& a = s.a;

    be.embed(s.w.token_embd, s.tokens, c.embed_scale, a.x);
    for (int il = 0; il < c.n_layers; ++il) {
        const LayerWeights& L = s.w.layers[size_t(il)];
        s.il = il;
        be.rms_norm(a.x, L.attn_norm, c.rms_eps, a.xn);
        s.dump("attn_norm", il, a.xn);
        if (c.is_recurrent(il)) delta_net(s, L, il);
        else gated_attention(s, L, il);

        // Feed-forward (SwiGLU), after the norm the model calls post_attention_layernorm.
        be.rms_norm(a.x, L.ffn_norm, c.rms_eps, a.xn);
        gated_ffn_residual(s, L, a.xn, a.proj, a.x);
        s.dump("l_out", il, a.x);
    }
    output_logits(s);
}

}  // namespace hotrod::model
