// Qwen3 (dense): Llama's block with RMSNorm over each head of q and k before RoPE (QK-norm), NeoX RoPE,
// no biases, head_dim from attention.key_length (128, wider than n_embd / n_heads in the small models).
#include "model/arch.h"
#include "model/blocks.h"

namespace hotrod::model {

Config read_config_qwen3(const gguf::File& f) {
    Config c = read_common_config(f);
    c.rope_kind = backend::RopeKind::NeoX;
    c.qk_norm = true;
    return c;
}

Manifest manifest_qwen3(const Config& c) {
    Manifest m = common_manifest(c);
    for (int il = 0; il < c.n_layers; ++il) {
        m.layer(il, "attn_q_norm.weight", {c.head_dim}, &LayerWeights::attn_q_norm);
        m.layer(il, "attn_k_norm.weight", {c.head_dim}, &LayerWeights::attn_k_norm);
    }
    return m;
}

void forward_qwen3(Step& s) {
    const Config& c = s.c;
    backend::Backend& be = s.be;
    Activations& a = s.a;

    be.embed(s.w.token_embd, s.tokens, c.embed_scale, a.x);
    for (int il = 0; il < c.n_layers; ++il) {
        const LayerWeights& L = s.w.layers[size_t(il)];
        const backend::KvLayerView cache = s.kv.layer(il);

        // Self-attention with QK-norm.
        be.rms_norm(a.x, L.attn_norm, c.rms_eps, a.xn);
        s.dump("attn_norm", il, a.xn);
        qkv_projections(s, L, a.xn);
        be.prepare_attention(a.q, a.k, a.v, {&L.attn_q_norm, &L.attn_k_norm, c.rms_eps, c.head_dim, c.rope(il)}, cache,
                             s.layout);
        be.attention(a.q, cache, s.layout, c.attention(il), a.attn);
        s.dump("kqv_out", il, a.attn);
        be.matmul_residual(L.attn_output, a.attn, a.proj, a.x);

        // Feed-forward (SwiGLU).
        be.rms_norm(a.x, L.ffn_norm, c.rms_eps, a.xn);
        gated_ffn_residual(s, L, a.xn, a.proj, a.x);
        s.dump("l_out", il, a.x);
    }
    output_logits(s);
}

}  // namespace hotrod::model
