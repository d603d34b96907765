// model::Weights: every tensor a forward pass reads, as backend views (zero-copy into the mmap on the CPU),
// and the tensor manifest each family publishes: name, shape and where the view goes. The loader checks every
// tensor of the manifest against the file (presence, shape, type); the synthetic writer makes one of each.
#pragma once

#include <functional>
#include <cstdint>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "model/config.h"

namespace hotrod::gguf {
class File;
}

namespace hotrod::model {

using backend::TensorView;

// One transformer block. Shapes as (rows, cols) = (output width, input width); absent tensors have data null.
struct LayerWeights {
    TensorView attn_norm;       // (1, n_embd)
    TensorView attn_q;          // (n_heads * head_dim, n_embd)
    TensorView attn_k;          // (n_kv_heads * head_dim, n_embd)
    TensorView attn_v;          // (n_kv_heads * head_dim, n_embd)
    TensorView attn_q_bias;     // (1, n_heads * head_dim)      qwen2
    TensorView attn_k_bias;     // (1, n_kv_heads * head_dim)   qwen2
    TensorView attn_v_bias;     // (1, n_kv_heads * head_dim)   qwen2
    TensorView attn_q_norm;     // (1, head_dim)                qwen3, gemma3
    TensorView attn_k_norm;     // (1, head_dim)                qwen3, gemma3
    TensorView attn_output;     // (n_embd, n_heads * head_dim)
    TensorView post_attn_norm;  // (1, n_embd)                  gemma3
    TensorView ffn_norm;        // (1, n_embd)
    TensorView ffn_gate;        // (n_ff, n_embd)
    TensorView ffn_up;          // (n_ff, n_embd)
    TensorView ffn_down;        // (n_embd, n_ff)
    TensorView post_ffn_norm;   // (1, n_embd)                  gemma3
    // Gated delta-net layers (qwen35; Config::delta_net, dn_ below: its head_dim, k_heads, v_heads). Shapes as above.
    TensorView dn_qkv;          // (conv_channels, n_embd)  q, k (k_heads x dn_head_dim each) then v (v_heads x ...)
    TensorView dn_z;            // (v_heads * dn_head_dim, n_embd)  z, the gate of the output norm
    TensorView dn_conv;         // (conv_channels, conv_kernel)  F32 taps, oldest input first
    TensorView dn_alpha;        // (v_heads, n_embd)  per-head input of the decay
    TensorView dn_beta;         // (v_heads, n_embd)  per-head input of the update strength
    TensorView dn_dt_bias;      // (1, v_heads)  added to alpha before the softplus
    TensorView dn_a;            // (1, v_heads)  -exp(A_log): the decay's scale, negative
    TensorView dn_norm;         // (1, dn_head_dim)  gated RMSNorm weight, shared by the heads
    TensorView dn_out;          // (n_embd, v_heads * dn_head_dim)
};

// This process's place in a tensor-parallel group (tensor_parallel.h says how the model is cut).
struct TensorParallel {
    int rank = 0;
    int size = 1;  // 1: the plain, unsplit model
};

struct Weights {
    TensorView token_embd;      // (n_vocab, n_embd)
    TensorView output_norm;     // (1, n_embd)
    TensorView output;          // (n_vocab, n_embd); token_embd when tied
    std::vector<LayerWeights> layers;  // (n_layers)
};

// One entry of a family's manifest. shape is in GGUF (ggml) order: shape[0] is the row length.
struct TensorSpec {
    std::string name;
    std::vector<int64_t> shape;
    int layer = -1;                              // -1: a global tensor
    TensorView Weights::*global = nullptr;       // where a global tensor's view goes
    TensorView LayerWeights::*field = nullptr;   // where a layer tensor's view goes
    bool optional = false;                       // may be absent (output.weight when tied)
    bool is_norm_or_bias() const { return shape.size() == 1; }  // kept F32 by the writer, required F32 by the loader
};

class Manifest {
public:
    void global(std::string name, std::vector<int64_t> shape, TensorView Weights::*dst, bool optional = false);
    // name_suffix after "blk.<il>.", e.g. "attn_q.weight".
    void layer(int il, std::string_view name_suffix, std::vector<int64_t> shape, TensorView LayerWeights::*dst);
    const std::vector<TensorSpec>& specs() const { return specs_; }

private:
    std::vector<TensorSpec> specs_;
};

// The tensors every family shares: embeddings, final norm, output (optional when tied), and per layer the
// attention norm, q/k/v/output projections, FFN norm and gated FFN. Families add theirs after it.
Manifest common_manifest(const Config& c);

// Looks every spec up in the file, checks shape and type, and makes its view usable by the backend. Ties the
// output to token_embd when output.weight is absent. Throws Error naming the file, tensor, expected and found.
// With tp.size > 1, c and specs are the full model's and each view is rank tp.rank's part (shard_weight).
Weights load_weights(const gguf::File& file, const std::vector<TensorSpec>& specs, const Config& c,
                     backend::Backend& be, const std::function<void(size_t, size_t)>& on_progress = {},
                     TensorParallel tp = {});

}  // namespace hotrod::model
