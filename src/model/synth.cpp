// Synthetic model writer. Weights are N(0, 0.02) (embeddings 0.1 so the logits have some spread), norm weights
// 1 + N(0, 0.1); each tensor's stream is seeded from (seed, name), so it does not depend on tensor order.
// Q4_K_M follows the real mix: Q4_K, with Q6_K for the output (token_embd when tied) and for attn_v and
// ffn_down on the "more bits" layers (first and last eighth, every third in between).
#include "model/synth.h"

#include <algorithm>
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

bool more_bits(int il, int n_layers) {
    return il < n_layers / 8 || il >= 7 * n_layers / 8 || (il - n_layers / 8) % 3 == 2;
}

quant::DType pick_type(const std::string& quant, const TensorSpec& s, const Config& c) {
    using quant::DType;
    if (s.is_norm_or_bias()) return DType::F32;
    if (quant == "f16") return DType::F16;
    if (quant == "q8_0") return DType::Q8_0;
    // q4_k_m
    const bool is_output = s.name == "output.weight" || (c.tied_embeddings && s.name == "token_embd.weight");
    if (is_output) return DType::Q6_K;
    const bool v_or_down = s.name.ends_with("attn_v.weight") || s.name.ends_with("ffn_down.weight");
    if (v_or_down && more_bits(s.layer, c.n_layers)) return DType::Q6_K;
    return DType::Q4_K;
}

}  // namespace

Config synth_config(const SynthOptions& opt, int n_vocab) {
    if (opt.arch != "qwen3") throw Error("synth: arch '" + opt.arch + "' has no shapes (expected qwen3)");
    Config c;
    c.arch = "qwen3";
    c.n_vocab = n_vocab;
    c.head_dim = 128;
    c.rope_base = 1000000.0f;
    c.rms_eps = 1e-6f;
    c.n_ctx_train = 40960;
    c.tied_embeddings = true;
    c.rope_kind = backend::RopeKind::NeoX;
    c.qk_norm = true;
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
    for (const auto& kv : vocab.metadata())
        if (kv.key.starts_with("tokenizer.")) w.set(kv.key, kv.value.deep_copy());

    const Manifest manifest = manifest_qwen3(c);
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
        const bool norm = s.is_norm_or_bias();
        const float sd = norm ? 0.1f : s.name == "token_embd.weight" ? 0.1f : 0.02f;
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
                    for (int64_t i = 0; i < n_cols; ++i) vals[size_t(i)] = (norm ? 1.0f : 0.0f) + sd * rr.normal();
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
