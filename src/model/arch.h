// What an architecture family provides (its GGUF keys -> Config, its tensor manifest, its forward pass) and
// what a forward pass gets handed for one step. The table of families is arch_table.cpp, one line each.
#pragma once

#include <vector>

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>

#include "backend/backend.h"
#include "model/config.h"
#include "model/kv_cache.h"
#include "model/weights.h"

namespace hotrod::gguf {
class File;
}

namespace hotrod::model {

// Activation buffers, F32, one row per token; sized once at load for the largest batch, then cut to the
// step's row count (Step). Names follow the forward: x is the residual stream, xn its normed copy.
struct Activations {
    TensorView x;        // (n_tokens, n_embd) residual stream
    TensorView xn;       // (n_tokens, n_embd) normed input of a sub-block
    TensorView proj;     // (n_tokens, n_embd) output of a sub-block before the residual add
    TensorView post;     // (n_tokens, n_embd) proj after a post-norm (gemma3)
    TensorView q;        // (n_tokens, n_heads * head_dim)
    TensorView k;        // (n_tokens, n_kv_heads * head_dim)
    TensorView v;        // (n_tokens, n_kv_heads * head_dim)
    TensorView attn;     // (n_tokens, n_heads * head_dim) attention output, before attn_output
    TensorView gate;     // (n_tokens, n_ff)
    TensorView up;       // (n_tokens, n_ff)
    TensorView hidden;   // (n_tokens, n_ff) act(gate) * up
    TensorView out_x;    // (n_logits, n_embd) residual rows that want logits
    TensorView out_xn;   // (n_logits, n_embd) the same after the final norm
    TensorView logits;   // (n_logits, n_vocab)
    TensorView embd_x;   // (n_embd_rows, n_embd) residual rows whose hidden state is wanted (embeddings)
    TensorView embd_xn;  // (n_embd_rows, n_embd) the same after the final norm: what embeddings pool
    // Hybrid models only (unallocated otherwise), widths as in LayerWeights.
    TensorView qg;       // (n_tokens, 2 * n_heads * head_dim) attn_q's output: per head the query, then its gate
    TensorView dn_qkv;   // (n_tokens, conv_channels) delta-net q, k, v: projected, then convolved in place
    TensorView dn_z;     // (n_tokens, v_heads * dn_head_dim) the output norm's gate
    TensorView dn_g;     // (n_tokens, v_heads) alpha, then the log decay g
    TensorView dn_beta;  // (n_tokens, v_heads) beta's projection, then beta
    TensorView dn_out;   // (n_tokens, v_heads * dn_head_dim) the delta rule's output, then normed
};

struct Step {
    backend::Backend& be;
    const Config& c;
    const Weights& w;
    const KvCache& kv;
    backend::KvLayout layout;
    backend::RecurrentLayout recurrent;   // hybrid models: each sequence's state slot
    std::span<const int32_t> tokens;      // (n_tokens)
    std::span<const int32_t> logit_rows;  // (n_logits) token indices, ascending
    std::span<const int32_t> embd_rows;   // (n_embd_rows) token indices, ascending: final-normed rows wanted
    Activations a;                        // cut to n_tokens / n_logits / n_embd_rows rows
    // Debug hook: when set, every named intermediate (name, layer or -1, view) is handed to it after a sync,
    // so a run can be diffed against a reference layer by layer. Unset in normal runs (no cost but a test).
    const std::function<void(std::string_view, int, const TensorView&)>* trace = nullptr;
    int il = -1;  // the layer being run, so shared blocks (blocks.h) name their dumps with it

    void dump(std::string_view name, int il, const TensorView& t) const {
        if (!trace) return;
        if (be.host_addressable()) {
            be.sync();
            (*trace)(name, il, t);
            return;
        }
        // On a device: the trace reads a host copy (debug runs only; this allocates).
        std::vector<float> host(size_t(t.n_rows) * size_t(t.n_cols));
        be.to_host(t, host.data());
        TensorView h = t;
        h.data = host.data();
        h.row_bytes = size_t(t.n_cols) * sizeof(float);
        (*trace)(name, il, h);
    }
};

struct Arch {
    std::string_view name;                      // general.architecture
    Config (*read_config)(const gguf::File&);   // the family's keys -> Config (throws Error)
    Manifest (*manifest)(const Config&);        // every tensor it reads
    void (*forward)(Step&);                     // one batched step: fills a.logits (and a.embd_xn)
};

// nullptr for an unsupported architecture.
const Arch* find_arch(std::string_view name);
std::string supported_archs();  // "llama, qwen2, qwen3, gemma3"

// The families (one file each).
Config read_config_llama(const gguf::File& f);
Config read_config_qwen2(const gguf::File& f);
Manifest manifest_llama(const Config& c);
void forward_llama(Step& s);
Config read_config_qwen3(const gguf::File& f);
Manifest manifest_qwen3(const Config& c);
void forward_qwen3(Step& s);
Config read_config_qwen35(const gguf::File& f);
Manifest manifest_qwen35(const Config& c);
void forward_qwen35(Step& s);
Config read_config_gemma3(const gguf::File& f);
Manifest manifest_gemma3(const Config& c);
void forward_gemma3(Step& s);

}  // namespace hotrod::model
