// Shared Config readers: the GGUF keys every family has, derived values (head_dim, attention scale, tied
// embeddings) and the sanity checks. Family-specific keys are read in each arch_*.cpp.
#include "model/config.h"

#include <cmath>
#include <cstdio>

#include "gguf/reader.h"

namespace hotrod::model {

namespace {

template <class T>
T required(const gguf::File& f, std::string_view key) {
    try {
        return f.get<T>(key);
    } catch (const gguf::Error& e) {
        throw Error(std::string(e.what()));
    }
}

template <class T>
std::optional<T> optional_key(const gguf::File& f, std::string_view key) {
    try {
        return f.find<T>(key);
    } catch (const gguf::Error& e) {
        throw Error(std::string(e.what()));
    }
}

}  // namespace

Config read_common_config(const gguf::File& f) {
    Config c;
    c.arch = std::string(f.architecture());
    if (c.arch.empty()) throw Error(f.path() + ": key general.architecture: missing");
    c.n_layers = required<int>(f, "{arch}.block_count");
    c.n_embd = required<int>(f, "{arch}.embedding_length");
    c.n_ff = required<int>(f, "{arch}.feed_forward_length");
    c.n_heads = required<int>(f, "{arch}.attention.head_count");
    c.n_kv_heads = optional_key<int>(f, "{arch}.attention.head_count_kv").value_or(c.n_heads);
    c.n_ctx_train = required<int>(f, "{arch}.context_length");
    c.pooling_type = optional_key<int>(f, "{arch}.pooling_type").value_or(-1);
    c.rms_eps = required<float>(f, "{arch}.attention.layer_norm_rms_epsilon");
    c.head_dim = optional_key<int>(f, "{arch}.attention.key_length").value_or(c.n_heads > 0 ? c.n_embd / c.n_heads : 0);
    const int head_dim_v = optional_key<int>(f, "{arch}.attention.value_length").value_or(c.head_dim);
    if (head_dim_v != c.head_dim)
        throw Error(f.path() + ": key " + c.arch + ".attention.value_length: expected " + std::to_string(c.head_dim) +
                    " (equal to key_length), found " + std::to_string(head_dim_v));
    c.rope_dims = optional_key<int>(f, "{arch}.rope.dimension_count").value_or(c.head_dim);
    c.rope_base = optional_key<float>(f, "{arch}.rope.freq_base").value_or(10000.0f);
    if (auto base = optional_key<float>(f, "{arch}.rope.freq_base_swa")) c.rope_base_local = *base;

    const auto scaling = optional_key<std::string>(f, "{arch}.rope.scaling.type").value_or("none");
    const float factor = optional_key<float>(f, "{arch}.rope.scaling.factor").value_or(0.0f);
    if (scaling == "linear" && factor > 0) {
        c.rope_scale = 1.0f / factor;
    } else if (scaling != "none" && scaling != "linear") {
        throw Error(f.path() + ": key " + c.arch + ".rope.scaling.type: expected none or linear, found " + scaling);
    }

    c.sliding_window = optional_key<int>(f, "{arch}.attention.sliding_window").value_or(0);
    c.attn_softcap = optional_key<float>(f, "{arch}.attn_logit_softcapping").value_or(0.0f);
    c.final_softcap = optional_key<float>(f, "{arch}.final_logit_softcapping").value_or(0.0f);
    c.attn_scale = optional_key<float>(f, "{arch}.attention.scale").value_or(0.0f);

    const gguf::TensorInfo* embd = f.find_tensor("token_embd.weight");
    if (!embd) throw Error(f.path() + ": tensor token_embd.weight: missing");
    c.n_vocab = int(embd->n_rows());
    c.tied_embeddings = f.find_tensor("output.weight") == nullptr;
    return c;
}

void validate_config(const Config& c, const std::string& path) {
    auto bad = [&](const char* field, long long v, const char* expected) {
        throw Error(path + ": config " + field + ": expected " + expected + ", found " + std::to_string(v));
    };
    if (c.n_layers <= 0) bad("n_layers", c.n_layers, "> 0");
    if (c.n_embd <= 0) bad("n_embd", c.n_embd, "> 0");
    if (c.n_ff <= 0) bad("n_ff", c.n_ff, "> 0");
    if (c.n_heads <= 0) bad("n_heads", c.n_heads, "> 0");
    if (c.n_kv_heads <= 0 || c.n_heads % c.n_kv_heads != 0) bad("n_kv_heads", c.n_kv_heads, "a divisor of n_heads");
    if (c.head_dim <= 0 || c.head_dim % 2 != 0) bad("head_dim", c.head_dim, "even and > 0");
    if (c.rope_dims <= 0 || c.rope_dims > c.head_dim || c.rope_dims % 2 != 0)
        bad("rope_dims", c.rope_dims, "even and <= head_dim");
    if (c.n_vocab <= 0) bad("n_vocab", c.n_vocab, "> 0");
    if (c.sliding_window < 0) bad("sliding_window", c.sliding_window, ">= 0");
    if (!(c.rms_eps > 0) || !std::isfinite(c.rms_eps)) bad("rms_eps", 0, "a positive finite number");
    if (!c.recurrent_layers.empty()) {
        const DeltaNetConfig& d = c.delta_net;
        if (int(c.recurrent_layers.size()) != c.n_layers) bad("recurrent_layers", c.recurrent_layers.size(), "n_layers entries");
        if (d.n_k_heads <= 0) bad("delta_net.n_k_heads", d.n_k_heads, "> 0");
        if (d.n_v_heads <= 0 || d.n_v_heads % d.n_k_heads != 0)
            bad("delta_net.n_v_heads", d.n_v_heads, "a multiple of n_k_heads");
        if (d.head_dim <= 0 || d.head_dim % 32 != 0) bad("delta_net.head_dim", d.head_dim, "a positive multiple of 32");
        if (d.conv_kernel < 2 || d.conv_kernel > 8) bad("delta_net.conv_kernel", d.conv_kernel, "2 to 8");
    }
}

int Config::n_recurrent_layers() const {
    int n = 0;
    for (uint8_t r : recurrent_layers) n += r != 0;
    return n;
}

backend::RopeParams Config::rope(int il) const {
    backend::RopeParams p;
    p.kind = rope_kind;
    p.n_dims = rope_dims;
    p.freq_base = is_sliding(il) && rope_base_local > 0 ? rope_base_local : rope_base;
    // Gemma 3 applies linear scaling to its global layers only; the local ones keep positions as they are.
    p.freq_scale = is_sliding(il) ? 1.0f : rope_scale;
    return p;
}

backend::AttentionParams Config::attention(int il) const {
    backend::AttentionParams p;
    p.n_heads = n_heads;
    p.n_kv_heads = n_kv_heads;
    p.head_dim = head_dim;
    p.scale = attn_scale > 0 ? attn_scale : 1.0f / std::sqrt(float(head_dim));
    p.window = is_sliding(il) ? sliding_window : 0;
    p.softcap = attn_softcap;
    return p;
}

std::string Config::summary() const {
    char buf[512];
    std::snprintf(buf, sizeof buf,
                  "%s: %d layers, n_embd %d, %d heads / %d kv heads x %d, n_ff %d, vocab %d, rope %s base %g "
                  "(local %g) scale %g, eps %g, window %d/%d, %s embeddings",
                  arch.c_str(), n_layers, n_embd, n_heads, n_kv_heads, head_dim, n_ff, n_vocab,
                  rope_kind == backend::RopeKind::NeoX ? "neox" : "normal", double(rope_base), double(rope_base_local),
                  double(rope_scale), double(rms_eps), sliding_window, sliding_pattern,
                  tied_embeddings ? "tied" : "separate");
    std::string out = buf;
    if (!recurrent_layers.empty()) {
        std::snprintf(buf, sizeof buf, ", %d delta-net layers (%d k / %d v heads x %d, conv %d)", n_recurrent_layers(),
                      delta_net.n_k_heads, delta_net.n_v_heads, delta_net.head_dim, delta_net.conv_kernel);
        out += buf;
    }
    return out;
}

}  // namespace hotrod::model
