// Gemma 3 (text): embeddings scaled by sqrt(n_embd); per layer pre- and post-norms around attention and FFN;
// QK-norm; NeoX RoPE with base 10000 on sliding layers and rope.freq_base on the global ones; five sliding
// layers (window attention.sliding_window) then one global, repeating; GeGLU FFN (tanh GELU).
// GGUF Gemma norms already hold (1 + w) (the converter adds the 1), so they are plain RMSNorm weights here.
#include <cmath>

#include "gguf/reader.h"
#include "model/arch.h"
#include "model/blocks.h"

namespace hotrod::model {

Config read_config_gemma3(const gguf::File& f) {
    Config c = read_common_config(f);
    c.rope_kind = backend::RopeKind::NeoX;
    c.qk_norm = true;
    c.post_norms = true;
    c.ffn_act = FfnActivation::GeluTanh;
    c.embed_scale = std::sqrt(float(c.n_embd));
    // Gemma 3's local layers use base 10000 (the paper, sec. 2); a file may say otherwise with freq_base_swa.
    if (c.rope_base_local == 0) c.rope_base_local = 10000.0f;
    // Local:global = 5:1 unless the file states a pattern.
    c.sliding_pattern = 6;
    if (auto p = f.find<int>("{arch}.attention.sliding_window_pattern")) c.sliding_pattern = *p;
    // query_pre_attn_scalar: the HF config's value is head_dim for every size but 27B (n_embd / n_heads), and it
    // is not stored in GGUF; an explicit attention.scale key wins (read in read_common_config).
    if (c.attn_scale == 0) {
        const float query_pre_attn_scalar =
            (c.n_layers == 62 && c.n_embd == 5376) ? float(c.n_embd / c.n_heads) : float(c.head_dim);
        c.attn_scale = 1.0f / std::sqrt(query_pre_attn_scalar);
    }
    return c;
}

Manifest manifest_gemma3(const Config& c) {
    Manifest m = common_manifest(c);
    for (int il = 0; il < c.n_layers; ++il) {
        m.layer(il, "attn_q_norm.weight", {c.head_dim}, &LayerWeights::attn_q_norm);
        m.layer(il, "attn_k_norm.weight", {c.head_dim}, &LayerWeights::attn_k_norm);
        m.layer(il, "post_attention_norm.weight", {c.n_embd}, &LayerWeights::post_attn_norm);
        m.layer(il, "post_ffw_norm.weight", {c.n_embd}, &LayerWeights::post_ffn_norm);
    }
    return m;
}

void forward_gemma3(Step& s) {
    const Config& c = s.c;
    backend::Backend& be = s.be;
    Activations& a = s.a;

    be.embed(s.w.token_embd, s.tokens, c.embed_scale, a.x);
    s.dump("inp_scaled", -1, a.x);
    for (int il = 0; il < c.n_layers; ++il) {
        s.il = il;
        const LayerWeights& L = s.w.layers[size_t(il)];
        const backend::KvLayerView cache = s.kv.layer(il);

        // Self-attention (sliding or global), QK-norm, post-norm.
        be.rms_norm(a.x, L.attn_norm, c.rms_eps, a.xn);
        s.dump("attn_norm", il, a.xn);
        qkv_projections(s, L, a.xn);
        be.prepare_attention(a.q, a.k, a.v, {&L.attn_q_norm, &L.attn_k_norm, c.rms_eps, c.head_dim, c.rope(il)}, cache,
                             s.layout);
        s.dump("Qcur", il, a.q);
        s.dump("Kcur", il, a.k);
        s.dump("Vcur", il, a.v);
        be.attention(a.q, cache, s.layout, c.attention(il), a.attn);
        s.dump("kqv_out", il, a.attn);
        be.matmul(L.attn_output, a.attn, a.proj);
        be.all_reduce(a.proj);
        s.dump("attn_out", il, a.proj);
        be.rms_norm(a.proj, L.post_attn_norm, c.rms_eps, a.post);
        be.add(a.x, a.post);
        s.dump("ffn_inp", il, a.x);

        // Feed-forward (GeGLU), post-norm.
        be.rms_norm(a.x, L.ffn_norm, c.rms_eps, a.xn);
        s.dump("ffn_norm", il, a.xn);
        gated_ffn(s, L, a.xn, a.proj);
        be.rms_norm(a.proj, L.post_ffn_norm, c.rms_eps, a.post);
        be.add(a.x, a.post);
        s.dump("l_out", il, a.x);
    }
    output_logits(s);
}

}  // namespace hotrod::model
