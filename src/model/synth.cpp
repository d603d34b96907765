// Synthetic model writer. Weights are N(0, 0.02) (embeddings 0.1 so the logits have some spread), norm weights
// 1 + N(0, 0.1), the delta-net's own parameters as spread_of says; each tensor's stream is seeded from (seed, name), so it does not depend on tensor order.
// Q4_K_M follows the real mix: Q4_K, with Q6_K for the output (token_embd when tied) and for attn_v and
// ffn_down on the "more bits" layers (first and last eighth, every third in between).
#include "model/synth.h"

#include <algorithm>
#include <fstream>
#include <iterator>
#include <span>
#include <thread>

#include <cmath>

#include "gguf/reader.h"
#include "gguf/writer.h"
#include "model/arch.h"
#include "quant/quantize.h"
#include "quant/types.h"

namespace hotrod::model {

namespace {

struct Rng {  // splitmix64: tiny, fast, and the same stream on every platform
    static constexpr uint64_t kGamma = 0x9e3779b97f4a7c15ull;  // the state's step per call
    uint64_t s;
    uint64_t next() {
        uint64_t z = (s += kGamma);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        return z ^ (z >> 31);
    }
    float uniform() { return float(next() >> 40) * (1.0f / 16777216.0f); }
    // Sum of four uniforms (variance 1/3) rescaled to unit variance: close enough to normal for weights, and
    // plain arithmetic, so bit-identical everywhere (no libm).
    float normal() { return (uniform() + uniform() + uniform() + uniform() - 2.0f) * 1.7320508f; }
};

uint64_t hash_name(uint64_t seed, const std::string& name) {
    uint64_t h = 1469598103934665603ull ^ seed;
    for (unsigned char ch : name) h = (h ^ ch) * 1099511628211ull;
    return h;
}

constexpr int kFullAttentionInterval = 4;  // qwen35: every 4th layer is full attention

bool more_bits(int il, int n_layers) {
    return il < n_layers / 8 || il >= 7 * n_layers / 8 || (il - n_layers / 8) % 3 == 2;
}

quant::DType pick_type(const std::string& quant, const TensorSpec& s, const Config& c) {
    using quant::DType;
    if (s.is_norm_or_bias() || s.name.ends_with("ssm_conv1d.weight")) return DType::F32;  // 4-tap rows: no blocks
    if (quant == "f16") return DType::F16;
    if (quant == "q8_0") return DType::Q8_0;
    // q4_k_m
    const bool is_output = s.name == "output.weight" || (c.tied_embeddings && s.name == "token_embd.weight");
    if (is_output) return DType::Q6_K;
    const bool v_or_down = s.name.ends_with("attn_v.weight") || s.name.ends_with("ffn_down.weight");
    if (v_or_down && more_bits(s.layer, c.n_layers)) return DType::Q6_K;
    return DType::Q4_K;
}

// How a tensor's values are drawn: mean + sd * normal() (always 4 draws, see the row skipping below).
struct Spread {
    float mean = 0, sd = 0.02f;
    float draw(Rng& r) const { return mean + sd * r.normal(); }
};

Spread spread_of(const TensorSpec& s) {
    // -exp(A_log) in the file: negative, or the delta-net state would grow without bound (normal() stays within
    // +-3.47, so -1 +- 0.7).
    if (s.name.ends_with("ssm_a")) return {.mean = -1, .sd = 0.2f};
    if (s.name.ends_with("ssm_dt.bias")) return {.mean = 0, .sd = 0.5f};
    if (s.name.ends_with("ssm_conv1d.weight")) return {.mean = 0, .sd = 0.3f};  // 4 taps a channel
    if (s.is_norm_or_bias()) return {.mean = 1, .sd = 0.1f};
    if (s.name == "token_embd.weight") return {.mean = 0, .sd = 0.1f};  // so the logits have some spread
    return {};
}

std::string read_text_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error("synth: cannot read " + path);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Qwen3.5 (hybrid): full attention every 4th layer with 256-wide heads, a quarter of them rotated (rope theta 1e7),
// and delta-net layers of 128-wide heads. 4b and 0.8b follow the published config.json files; tiny keeps every
// structural feature (2 value heads per key head, both layer kinds) at a few MB of layers.
Config synth_config_qwen35(const SynthOptions& opt, Config c) {
    c.attn_output_gate = true;
    c.head_dim = 256;
    c.rope_dims = 64;
    c.rope_base = 10000000.0f;
    c.n_ctx_train = 262144;
    DeltaNetConfig& d = c.delta_net;
    d.head_dim = 128;
    d.conv_kernel = 4;
    if (opt.shape == "4b") {
        c.n_layers = 32, c.n_embd = 2560, c.n_heads = 16, c.n_kv_heads = 4, c.n_ff = 9216;
        d.n_k_heads = 16, d.n_v_heads = 32;
    } else if (opt.shape == "0.8b") {
        c.n_layers = 24, c.n_embd = 1024, c.n_heads = 8, c.n_kv_heads = 2, c.n_ff = 3584;
        d.n_k_heads = 16, d.n_v_heads = 16;
    } else if (opt.shape == "tiny") {
        c.n_layers = 4, c.n_embd = 256, c.n_heads = 2, c.n_kv_heads = 1, c.n_ff = 512;
        d.n_k_heads = 2, d.n_v_heads = 4;
        c.n_ctx_train = 4096;
    } else {
        throw Error("synth: shape '" + opt.shape + "' of qwen35: expected tiny, 0.8b or 4b");
    }
    c.recurrent_layers.assign(size_t(c.n_layers), 0);
    for (int il = 0; il < c.n_layers; ++il) c.recurrent_layers[size_t(il)] = (il + 1) % kFullAttentionInterval != 0;
    return c;
}

// Gemma 3: 256-wide heads over one KV head, QK-norm, post-norms, GeGLU, embeddings scaled by sqrt(n_embd), five
// sliding-window layers to one global. 270m follows the published Gemma 3 270M config; tiny keeps one global layer
// after five sliding ones with a 32-token window, so a test's few hundred positions cross it.
Config synth_config_gemma3(const SynthOptions& opt, Config c) {
    c.rope_base = 1000000.0f;
    c.rope_base_local = 10000.0f;
    c.head_dim = 256;
    c.qk_norm = true;
    c.post_norms = true;
    c.ffn_act = FfnActivation::GeluTanh;
    c.sliding_pattern = 6;
    if (opt.shape == "270m") {
        c.n_layers = 18, c.n_embd = 640, c.n_heads = 4, c.n_kv_heads = 1, c.n_ff = 2048;
        c.sliding_window = 512;
        c.n_ctx_train = 32768;
    } else if (opt.shape == "tiny") {
        c.n_layers = 6, c.n_embd = 256, c.n_heads = 2, c.n_kv_heads = 1, c.n_ff = 512;
        c.sliding_window = 32;
        c.n_ctx_train = 4096;
    } else {
        throw Error("synth: shape '" + opt.shape + "' of gemma3: expected tiny or 270m");
    }
    c.rope_dims = c.head_dim;
    return c;
}

}  // namespace

Config synth_config(const SynthOptions& opt, int n_vocab) {
    if (opt.arch != "qwen3" && opt.arch != "qwen35" && opt.arch != "gemma3")
        throw Error("synth: arch '" + opt.arch + "' has no shapes (expected qwen3, qwen35 or gemma3)");
    Config c;
    c.arch = opt.arch;
    c.n_vocab = n_vocab;
    c.head_dim = 128;
    c.rope_base = 1000000.0f;
    c.rms_eps = 1e-6f;
    c.n_ctx_train = 40960;
    c.tied_embeddings = true;
    c.rope_kind = backend::RopeKind::NeoX;
    c.qk_norm = true;
    if (opt.arch == "qwen35") return synth_config_qwen35(opt, c);
    if (opt.arch == "gemma3") return synth_config_gemma3(opt, c);
    if (opt.shape == "0.6b") {  // Qwen3-0.6B config.json
        c.n_layers = 28, c.n_embd = 1024, c.n_heads = 16, c.n_kv_heads = 8, c.n_ff = 3072;
    } else if (opt.shape == "4b") {  // Qwen3-4B config.json
        c.n_layers = 36, c.n_embd = 2560, c.n_heads = 32, c.n_kv_heads = 8, c.n_ff = 9728;
    } else if (opt.shape == "tiny") {  // for tests: a few MB of layers (the embedding dominates)
        c.n_layers = 2, c.n_embd = 256, c.n_heads = 4, c.n_kv_heads = 2, c.n_ff = 512, c.head_dim = 64;
        c.n_ctx_train = 4096;
    } else {
        throw Error("synth: shape '" + opt.shape + "': expected tiny, 0.6b or 4b");
    }
    c.rope_dims = c.head_dim;
    return c;
}

void write_synthetic_model(const SynthOptions& opt, const std::string& path) {
    if (opt.quant != "q4_k_m" && opt.quant != "q8_0" && opt.quant != "f16")
        throw Error("synth: quant '" + opt.quant + "': expected q4_k_m, q8_0 or f16");
    if (opt.vocab_path.empty()) throw Error("synth: a vocab file is needed (--vocab)");
    const gguf::File vocab = gguf::File::open(opt.vocab_path);
    const gguf::Value* tokens = vocab.find_value("tokenizer.ggml.tokens");
    if (!tokens || !tokens->is_array())
        throw Error(opt.vocab_path + ": key tokenizer.ggml.tokens: missing (not a vocab file?)");
    const Config c = synth_config(opt, int(tokens->array_size()));

    gguf::Writer w;
    const std::string a = c.arch;
    w.set_string("general.architecture", a);
    w.set_string("general.name", "hotrod-synth-" + a + "-" + opt.shape + "-" + opt.quant);
    w.set_scalar<uint32_t>("general.quantization_version", 2);
    w.set_scalar<uint32_t>("general.file_type", opt.quant == "f16" ? 1 : opt.quant == "q8_0" ? 7 : 15);
    w.set_scalar<uint64_t>("general.synth_seed", opt.seed);
    w.set_scalar<uint32_t>(a + ".block_count", uint32_t(c.n_layers));
    w.set_scalar<uint32_t>(a + ".context_length", uint32_t(c.n_ctx_train));
    w.set_scalar<uint32_t>(a + ".embedding_length", uint32_t(c.n_embd));
    w.set_scalar<uint32_t>(a + ".feed_forward_length", uint32_t(c.n_ff));
    w.set_scalar<uint32_t>(a + ".attention.head_count", uint32_t(c.n_heads));
    w.set_scalar<uint32_t>(a + ".attention.head_count_kv", uint32_t(c.n_kv_heads));
    w.set_scalar<uint32_t>(a + ".attention.key_length", uint32_t(c.head_dim));
    w.set_scalar<uint32_t>(a + ".attention.value_length", uint32_t(c.head_dim));
    w.set_scalar<float>(a + ".rope.freq_base", c.rope_base);
    w.set_scalar<float>(a + ".attention.layer_norm_rms_epsilon", c.rms_eps);
    if (c.arch == "gemma3") {
        w.set_scalar<float>(a + ".rope.freq_base_swa", c.rope_base_local);
        w.set_scalar<uint32_t>(a + ".attention.sliding_window", uint32_t(c.sliding_window));
        w.set_scalar<uint32_t>(a + ".attention.sliding_window_pattern", uint32_t(c.sliding_pattern));
    }
    if (c.arch == "qwen35") {
        const DeltaNetConfig& d = c.delta_net;
        w.set_scalar<uint32_t>(a + ".rope.dimension_count", uint32_t(c.rope_dims));
        // M-RoPE sections of the rotated pairs (time, height, width, -); text gives every section the same position.
        const int32_t sections[4] = {11, 11, 10, 0};
        w.set(a + ".rope.dimension_sections", gguf::Value::array(std::span<const int32_t>(sections)));
        w.set_scalar<uint32_t>(a + ".full_attention_interval", uint32_t(kFullAttentionInterval));
        w.set_scalar<uint32_t>(a + ".ssm.conv_kernel", uint32_t(d.conv_kernel));
        w.set_scalar<uint32_t>(a + ".ssm.state_size", uint32_t(d.head_dim));
        w.set_scalar<uint32_t>(a + ".ssm.group_count", uint32_t(d.n_k_heads));
        w.set_scalar<uint32_t>(a + ".ssm.time_step_rank", uint32_t(d.n_v_heads));
        w.set_scalar<uint32_t>(a + ".ssm.inner_size", uint32_t(d.n_v_heads * d.head_dim));
    }
    for (const auto& kv : vocab.metadata())
        if (kv.key.starts_with("tokenizer.")) w.set(kv.key, kv.value.deep_copy());
    if (!opt.chat_template_path.empty()) w.set_string("tokenizer.chat_template", read_text_file(opt.chat_template_path));

    const Manifest manifest = c.arch == "qwen35"   ? manifest_qwen35(c)
                              : c.arch == "gemma3" ? manifest_gemma3(c)
                                                   : manifest_qwen3(c);
    std::vector<std::byte> data;
    for (const TensorSpec& s : manifest.specs()) {
        if (s.optional) continue;  // output.weight: tied to the embeddings, as in the real 0.6B and 4B
        const quant::DType type = pick_type(opt.quant, s, c);
        const int64_t n_cols = s.shape[0];
        int64_t n_rows = 1;
        for (size_t d = 1; d < s.shape.size(); ++d) n_rows *= s.shape[d];
        const size_t rb = *quant::row_bytes(type, n_cols);
        data.resize(rb * size_t(n_rows));
        Rng rng{hash_name(opt.seed, s.name)};
        const Spread spread = spread_of(s);
        // The stream is one splitmix64 sequence in row order (the bytes must not depend on the machine), and
        // splitmix64 is a counter: a row's first draw is the tensor's start plus 4 calls (one normal()) per
        // element before it. So every core takes rows of its own, draws them from that point and quantizes them:
        // the same bytes as drawing them one after another, minutes faster on a 4B model.
        const unsigned n_threads = std::max(1u, std::thread::hardware_concurrency());
        const uint64_t start = rng.s;
        std::vector<std::thread> pool;
        for (unsigned t = 0; t < n_threads && int64_t(t) < n_rows; ++t)
            pool.emplace_back([&, t] {
                std::vector<float> vals(static_cast<size_t>(n_cols));
                for (int64_t r = t; r < n_rows; r += n_threads) {
                    Rng rr{start + uint64_t(r) * uint64_t(n_cols) * 4u * Rng::kGamma};
                    for (int64_t i = 0; i < n_cols; ++i) vals[size_t(i)] = spread.draw(rr);
                    if (opt.quick_quant) quant::quantize_row_quick(type, vals.data(), data.data() + size_t(r) * rb, n_cols);
                    else quant::quantize_row(type, vals.data(), data.data() + size_t(r) * rb, n_cols);
                }
            });
        for (auto& th : pool) th.join();
        w.add_tensor(s.name, type, s.shape, data);
    }
    w.write(path);
}

}  // namespace hotrod::model
