// Llama (SmolLM2, Llama 2/3) and Qwen2, which is Llama with biases on q, k, v and NeoX RoPE: keys, tensors,
// forward. Pre-norm transformer: x += attn(norm(x)); x += swiglu_ffn(norm(x)); logits = out(norm(x)).
// GGUF llama files store q/k rows permuted for the Normal (adjacent-pair) RoPE ordering, so no un-permute here.
#include "model/arch.h"
#include "model/blocks.h"

namespace hotrod::model {

Config read_config_llama(const gguf::File& f) {
    Config c = read_common_config(f);
    c.rope_kind = backend::RopeKind::Normal;
    return c;
}

Config read_config_qwen2(const gguf::File& f) {
    Config c = read_common_config(f);
    c.rope_kind = backend::RopeKind::NeoX;
    c.qkv_bias = true;
    return c;
}

Manifest manifest_llama(const Config& c) {
    Manifest m = common_manifest(c);
    if (c.qkv_bias) {
        for (int il = 0; il < c.n_layers; ++il) {
            m.layer(il, "attn_q.bias", {int64_t(c.n_heads) * c.head_dim}, &LayerWeights::attn_q_bias);
            m.layer(il, "attn_k.bias", {int64_t(c.n_kv_heads) * c.head_dim}, &LayerWeights::attn_k_bias);
            m.layer(il, "attn_v.bias", {int64_t(c.n_kv_heads) * c.head_dim}, &LayerWeights::attn_v_bias);
        }
    }
    return m;
}

void forward_llama(Step& s) {
    const Config& c = s.c;
    backend::Backend& be = s.be;
    Activations& a = s.a;

    be.embed(s.w.token_embd, s.tokens, c.embed_scale, a.x);
    s.dump("inp_embd", -1, a.x);
    for (int il = 0; il < c.n_layers; ++il) {
        const LayerWeights& L = s.w.layers[size_t(il)];
        s.il = il;
        const backend::KvLayerView cache = s.kv.layer(il);

        // Self-attention.
        be.rms_norm(a.x, L.attn_norm, c.rms_eps, a.xn);
        s.dump("attn_norm", il, a.xn);
        qkv_projections(s, L, a.xn);
        if (c.qkv_bias) {
            add_bias(be, a.q, L.attn_q_bias);
            add_bias(be, a.k, L.attn_k_bias);
            add_bias(be, a.v, L.attn_v_bias);
        }
        be.prepare_attention(a.q, a.k, a.v, {nullptr, nullptr, 0.0f, c.head_dim, c.rope(il)}, cache, s.layout);
        s.dump("Qcur", il, a.q);
        s.dump("Kcur", il, a.k);
        s.dump("Vcur", il, a.v);
        be.attention(a.q, cache, s.layout, c.attention(il), a.attn);
        s.dump("kqv_out", il, a.attn);
        be.matmul_residual(L.attn_output, a.attn, a.proj, a.x);
        s.dump("ffn_inp", il, a.x);

        // Feed-forward.
        be.rms_norm(a.x, L.ffn_norm, c.rms_eps, a.xn);
        s.dump("ffn_norm", il, a.xn);
        gated_ffn_residual(s, L, a.xn, a.proj, a.x);
        s.dump("l_out", il, a.x);
    }
    output_logits(s);
}

}  // namespace hotrod::model
