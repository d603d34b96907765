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
#include "gguf/reader.h"
#include "model/arch.h"
#include "model/blocks.h"

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

}  // namespace hotrod::model
