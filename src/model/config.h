// model::Config: the hyper-parameters of one model as read from its GGUF metadata, in one plain struct the
// forward passes read. Each family's keys are read in its own arch_*.cpp (through the helpers here); this
// file holds the struct, the shared key readers and the error type. Nothing here touches tensors.
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

#include <cstdint>

#include "backend/backend.h"

namespace hotrod::gguf {
class File;
}

namespace hotrod::model {

// Every load failure: names the file and the key or tensor, what was expected and what was found.
class Error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

enum class FfnActivation { Silu, GeluTanh };  // SwiGLU (llama, qwen) / GeGLU (gemma)

// Gated delta-net ("linear attention") layers of a hybrid model (Qwen3.5: 3 of every 4 layers). Each has a causal
// conv1d over its q, k, v channels and a recurrent state of n_v_heads x head_dim x head_dim per sequence instead of
// a KV cache. GGUF keys {arch}.ssm.*, named after the Mamba fields llama.cpp reuses for them.
struct DeltaNetConfig {
    int n_k_heads = 0;      // ssm.group_count: query / key heads
    int n_v_heads = 0;      // ssm.time_step_rank: value heads (a multiple of n_k_heads; 0 = no delta-net layers)
    int head_dim = 0;       // ssm.state_size: width of every q, k and v head (ssm.inner_size = n_v_heads * head_dim)
    int conv_kernel = 0;    // ssm.conv_kernel: taps of the causal conv1d (4)
    int conv_channels() const { return (2 * n_k_heads + n_v_heads) * head_dim; }  // q, k, v concatenated
};

struct Config {
    std::string arch;            // general.architecture
    int n_layers = 0;
    int n_embd = 0;              // residual width
    int n_heads = 0;
    int n_kv_heads = 0;          // grouped-query attention: n_heads % n_kv_heads == 0
    int head_dim = 0;            // attention.key_length (== value_length), else n_embd / n_heads
    int n_ff = 0;                // feed_forward_length
    int n_vocab = 0;             // rows of token_embd
    int n_ctx_train = 0;         // context_length
    int pooling_type = -1;       // pooling_type, for embeddings, in llama.cpp's numbering (0 none, 1 mean, 2 cls,
                                 // 3 last, 4 rank); -1 when the file does not say (decoder-only chat models)

    backend::RopeKind rope_kind = backend::RopeKind::Normal;
    int rope_dims = 0;           // rope.dimension_count, else head_dim
    float rope_base = 10000.0f;  // rope.freq_base (global layers)
    float rope_base_local = 0;   // sliding layers' base (Gemma 3: 10000); 0 = same as rope_base
    float rope_scale = 1.0f;     // 1 / rope.scaling.factor for linear scaling, else 1

    float rms_eps = 1e-6f;
    int sliding_window = 0;      // tokens a sliding layer sees (0 = no sliding layers)
    int sliding_pattern = 0;     // layer il slides iff pattern > 0 and (il + 1) % pattern != 0 (Gemma 3: 6)
    float attn_softcap = 0;      // tanh soft-capping of attention scores (0 = none)
    float final_softcap = 0;     // tanh soft-capping of the output logits (0 = none)
    float embed_scale = 1.0f;    // Gemma: sqrt(n_embd)
    float attn_scale = 0;        // q·k scale: attention.scale, else 1/sqrt(head_dim)

    bool tied_embeddings = false;  // no output.weight: the output projection is token_embd
    bool qkv_bias = false;         // qwen2: biases on q, k, v
    bool qk_norm = false;          // qwen3, gemma3: RMSNorm over each head of q and k
    bool post_norms = false;       // gemma3: norms after attention and FFN, before the residual add
    FfnActivation ffn_act = FfnActivation::Silu;
    bool attn_output_gate = false;  // qwen35: attn_q also yields a per-head gate; attention output *= sigmoid(gate)
    DeltaNetConfig delta_net;
    std::vector<uint8_t> recurrent_layers;  // per layer: 1 = a delta-net layer (empty: none)

    bool is_recurrent(int il) const { return !recurrent_layers.empty() && recurrent_layers[size_t(il)] != 0; }
    int n_recurrent_layers() const;
    bool is_sliding(int il) const {
        return sliding_window > 0 && sliding_pattern > 0 && (il + 1) % sliding_pattern != 0;
    }
    backend::RopeParams rope(int il) const;
    backend::AttentionParams attention(int il) const;
    std::string summary() const;  // one line for logs
};

// The keys every family shares ({arch}.block_count, embedding_length, ...). Throws Error naming the file and
// key when a required key is missing or of the wrong type. Family files then set what is theirs.
Config read_common_config(const gguf::File& file);

// Checks the numbers are usable (positive, heads divide, head_dim even, ...); throws Error naming the field.
void validate_config(const Config& c, const std::string& path);

}  // namespace hotrod::model
