// Config and loading: the real models' hyper-parameters, clear errors for an unsupported architecture, a
// missing key, a missing or misshapen tensor; the KV block pool and cache bookkeeping.
#include <gtest/gtest.h>

#include <cmath>

#include "gguf/writer.h"
#include "model/arch.h"
#include "model/kv_cache.h"
#include "model/model.h"
#include "model/synth.h"
#include "test_util.h"

namespace hotrod::model {
namespace {

using test::temp_dir;

TEST(Config, SmolLM2) {
    HOTROD_MODEL_OR_SKIP(path, "SmolLM2-135M-Instruct.Q4_1.gguf");
    const auto f = gguf::File::open(path);
    const Config c = find_arch(f.architecture())->read_config(f);
    EXPECT_EQ(c.arch, "llama");
    EXPECT_EQ(c.n_layers, 30);
    EXPECT_EQ(c.n_embd, 576);
    EXPECT_EQ(c.n_heads, 9);
    EXPECT_EQ(c.n_kv_heads, 3);
    EXPECT_EQ(c.head_dim, 64);
    EXPECT_EQ(c.n_ff, 1536);
    EXPECT_EQ(c.n_vocab, 49152);
    EXPECT_EQ(c.rope_kind, backend::RopeKind::Normal);
    EXPECT_FLOAT_EQ(c.rope_base, 100000.0f);
    EXPECT_TRUE(c.tied_embeddings);
    EXPECT_FALSE(c.is_sliding(0));
    EXPECT_FLOAT_EQ(c.attention(0).scale, 0.125f);
}

TEST(Config, Gemma3) {
    HOTROD_MODEL_OR_SKIP(path, "gemma-3-270m-q4_k_m.gguf");
    const auto f = gguf::File::open(path);
    const Config c = find_arch(f.architecture())->read_config(f);
    EXPECT_EQ(c.n_layers, 18);
    EXPECT_EQ(c.n_embd, 640);
    EXPECT_EQ(c.n_heads, 4);
    EXPECT_EQ(c.n_kv_heads, 1);
    EXPECT_EQ(c.head_dim, 256);
    EXPECT_EQ(c.n_vocab, 262144);
    EXPECT_EQ(c.rope_kind, backend::RopeKind::NeoX);
    EXPECT_FLOAT_EQ(c.embed_scale, std::sqrt(640.0f));
    EXPECT_FLOAT_EQ(c.attention(0).scale, 1.0f / 16.0f);
    // Five sliding layers (window 512, base 10000), then one global (base 1e6).
    for (int il = 0; il < 5; ++il) {
        EXPECT_TRUE(c.is_sliding(il));
        EXPECT_EQ(c.attention(il).window, 512);
        EXPECT_FLOAT_EQ(c.rope(il).freq_base, 10000.0f);
    }
    EXPECT_FALSE(c.is_sliding(5));
    EXPECT_EQ(c.attention(5).window, 0);
    EXPECT_FLOAT_EQ(c.rope(5).freq_base, 1000000.0f);
    EXPECT_TRUE(c.is_sliding(6));
    EXPECT_FALSE(c.is_sliding(17));
}

// A small qwen3 file, F32 weights, with hooks to break it.
struct MiniQwen3 {
    int n_vocab = 64, n_embd = 64, n_ff = 128, n_heads = 2, n_kv = 1, head_dim = 32, n_layers = 2;
    std::string arch = "qwen3";
    std::string drop_key;      // metadata key to leave out
    std::string drop_tensor;   // tensor to leave out
    std::string bad_tensor;    // tensor written with one more row
    std::string write(const std::string& name) const {
        gguf::Writer w;
        w.set_string("general.architecture", arch);
        auto u = [&](const std::string& k, uint32_t v) {
            if (k != drop_key) w.set_scalar<uint32_t>(arch + "." + k, v);
        };
        u("block_count", uint32_t(n_layers));
        u("context_length", 256);
        u("embedding_length", uint32_t(n_embd));
        u("feed_forward_length", uint32_t(n_ff));
        u("attention.head_count", uint32_t(n_heads));
        u("attention.head_count_kv", uint32_t(n_kv));
        u("attention.key_length", uint32_t(head_dim));
        u("attention.value_length", uint32_t(head_dim));
        if (drop_key != "attention.layer_norm_rms_epsilon")
            w.set_scalar<float>(arch + ".attention.layer_norm_rms_epsilon", 1e-6f);
        Config c;
        c.n_layers = n_layers, c.n_embd = n_embd, c.n_ff = n_ff, c.n_heads = n_heads, c.n_kv_heads = n_kv;
        c.head_dim = head_dim, c.n_vocab = n_vocab;
        const Manifest m = manifest_qwen3(c);
        for (const auto& s : m.specs()) {
            if (s.optional || s.name == drop_tensor) continue;
            std::vector<int64_t> shape = s.shape;
            if (s.name == bad_tensor) shape.back() += 1;
            int64_t n = 1;
            for (auto d : shape) n *= d;
            std::vector<float> data(size_t(n), 0.01f);
            w.add_tensor(s.name, quant::DType::F32, shape,
                         std::as_bytes(std::span<const float>(data.data(), data.size())));
        }
        const std::string path = (temp_dir() / name).string();
        w.write(path);
        return path;
    }
};

std::string load_error(const std::string& path) {
    cpu::CpuBackend be(1);
    try {
        Model::load(path, be);
    } catch (const std::exception& e) {
        return e.what();
    }
    return "";
}

TEST(Load, MiniQwen3Loads) {
    cpu::CpuBackend be(1);
    auto m = Model::load(MiniQwen3{}.write("ok.gguf"), be);
    EXPECT_EQ(m->config().head_dim, 32);
    EXPECT_TRUE(m->config().tied_embeddings);
    EXPECT_EQ(m->weights().output.data, m->weights().token_embd.data);
}

TEST(Load, UnsupportedArchitecture) {
    MiniQwen3 q;
    q.arch = "mamba";
    const std::string err = load_error(q.write("arch.gguf"));
    EXPECT_NE(err.find("general.architecture"), std::string::npos) << err;
    EXPECT_NE(err.find("mamba"), std::string::npos) << err;
    EXPECT_NE(err.find("qwen3"), std::string::npos) << err;
}

TEST(Load, MissingKey) {
    MiniQwen3 q;
    q.drop_key = "block_count";
    const std::string err = load_error(q.write("key.gguf"));
    EXPECT_NE(err.find("qwen3.block_count"), std::string::npos) << err;
    EXPECT_NE(err.find("key.gguf"), std::string::npos) << err;
}

TEST(Load, MissingTensor) {
    MiniQwen3 q;
    q.drop_tensor = "blk.1.attn_k_norm.weight";
    const std::string err = load_error(q.write("missing.gguf"));
    EXPECT_NE(err.find("blk.1.attn_k_norm.weight: missing"), std::string::npos) << err;
}

TEST(Load, WrongShape) {
    MiniQwen3 q;
    q.bad_tensor = "blk.0.ffn_down.weight";
    const std::string err = load_error(q.write("shape.gguf"));
    EXPECT_NE(err.find("blk.0.ffn_down.weight: expected shape [128, 64], found [128, 65]"), std::string::npos)
        << err;
}

TEST(Synth, Qwen3Shapes) {
    SynthOptions o;
    o.shape = "0.6b";
    Config c = synth_config(o, 151936);
    EXPECT_EQ(c.n_layers, 28);
    EXPECT_EQ(c.n_embd, 1024);
    EXPECT_EQ(c.n_heads * c.head_dim, 2048);
    o.shape = "4b";
    c = synth_config(o, 151936);
    EXPECT_EQ(c.n_layers, 36);
    EXPECT_EQ(c.n_ff, 9728);
    o.shape = "7b";
    EXPECT_THROW(synth_config(o, 10), Error);
}

TEST(Synth, Qwen35Shapes) {
    SynthOptions o;
    o.arch = "qwen35";
    o.shape = "4b";  // Qwen3.5-4B's config.json
    Config c = synth_config(o, 151936);
    EXPECT_EQ(c.n_layers, 32);
    EXPECT_EQ(c.n_embd, 2560);
    EXPECT_EQ(c.n_ff, 9216);
    EXPECT_EQ(c.n_heads * c.head_dim, 4096);
    EXPECT_EQ(c.n_kv_heads, 4);
    EXPECT_EQ(c.rope_dims, 64);
    EXPECT_EQ(c.delta_net.n_k_heads, 16);
    EXPECT_EQ(c.delta_net.n_v_heads, 32);
    EXPECT_EQ(c.delta_net.conv_channels(), 8192);
    EXPECT_EQ(c.n_recurrent_layers(), 24);
    EXPECT_FALSE(c.is_recurrent(3));
    EXPECT_TRUE(c.is_recurrent(4));
    o.shape = "0.6b";  // a qwen3 shape
    EXPECT_THROW(synth_config(o, 10), Error);
}

// The file synth writes reads back through the family's own key reader and manifest: every key, every tensor
// with its shape and the F32 types the loader requires (norms, biases, the conv taps).
TEST(Synth, Qwen35TinyReadsBack) {
    const std::string vocab = test::shared_vocab("ggml-vocab-qwen35.gguf");
    const std::string tmpl = std::string(HOTROD_SOURCE_DIR) + "/../shared/templates/Qwen3.5-4B.jinja";
    if (!std::filesystem::exists(vocab) || !std::filesystem::exists(tmpl)) GTEST_SKIP() << "missing " << vocab;
    const std::string dir = temp_dir().string();
    SynthOptions o;
    o.arch = "qwen35";
    o.shape = "tiny";
    o.quant = "q4_k_m";
    o.quick_quant = true;
    o.vocab_path = vocab;
    o.chat_template_path = tmpl;
    const std::string path = dir + "/tiny.gguf";
    write_synthetic_model(o, path);
    const auto f = gguf::File::open(path);
    const Config c = read_config_qwen35(f);
    const Config want = synth_config(o, c.n_vocab);
    EXPECT_EQ(c.n_layers, want.n_layers);
    EXPECT_EQ(c.head_dim, 256);
    EXPECT_EQ(c.rope_dims, 64);
    EXPECT_TRUE(c.attn_output_gate);
    EXPECT_EQ(c.recurrent_layers, (std::vector<uint8_t>{1, 1, 1, 0}));
    EXPECT_EQ(c.delta_net.n_k_heads, 2);
    EXPECT_EQ(c.delta_net.n_v_heads, 4);
    EXPECT_EQ(c.delta_net.head_dim, 128);
    EXPECT_EQ(c.delta_net.conv_kernel, 4);
    EXPECT_NO_THROW(validate_config(c, path));
    EXPECT_NE(f.get<std::string>("tokenizer.chat_template").find("<think>"), std::string::npos);
    const Manifest manifest = manifest_qwen35(c);
    for (const TensorSpec& s : manifest.specs()) {
        if (s.optional) continue;
        const gguf::TensorInfo* t = f.find_tensor(s.name);
        ASSERT_NE(t, nullptr) << s.name;
        for (size_t d = 0; d < s.shape.size(); ++d) EXPECT_EQ(t->dims[d], s.shape[d]) << s.name << " dim " << d;
        if (s.is_norm_or_bias() || s.name.ends_with("ssm_conv1d.weight")) {
            EXPECT_EQ(t->type, quant::DType::F32) << s.name;
        }
    }
}

// A hybrid model's cache: K and V for the attention layers only, a recurrent-state slot per live sequence taken
// from the byte budget first, truncation that cannot cut the state short, and no prefix sharing.
TEST(KvCache, HybridStateSlotsBudgetAndTruncate) {
    cpu::CpuBackend be(1);
    SynthOptions so;
    so.arch = "qwen35";
    Config c = synth_config(so, 1000);  // tiny: 3 delta-net layers, 1 attention layer (1 KV head of 256)
    KvOptions o;
    o.block_size = 16;
    o.n_seqs = 2;
    o.n_state_snapshots = 1;
    const size_t slot = RecurrentState::slot_bytes(c);
    EXPECT_EQ(slot, size_t(3) * (3 * 1024 + 4 * 128 * 128) * sizeof(float));
    const size_t block = 16 * 256 * 2 * 2 * 1;  // tokens * width * f16 * (K, V) * one attention layer
    o.kv_bytes = 3 * slot + 5 * block + 100;  // two live slots and a snapshot row, then K and V
    KvCache kv(be, c, o);
    EXPECT_EQ(kv.n_blocks(), 5);
    EXPECT_EQ(kv.bytes(), 5 * block + 3 * slot);
    ASSERT_NE(kv.recurrent(), nullptr);
    EXPECT_EQ(kv.recurrent()->state(0).n_rows, 3);
    EXPECT_THROW(kv.layer(0), std::logic_error);  // a delta-net layer has no K and V
    EXPECT_NO_THROW(kv.layer(3));
    EXPECT_THROW(kv.recurrent()->conv(3), std::logic_error);

    const int32_t a = kv.add_sequence(), b = kv.add_sequence();
    EXPECT_THROW(kv.add_sequence(), KvFullError);  // both slots taken
    kv.reserve(a, 40);
    kv.set_state_positions(a, 40);
    EXPECT_EQ(kv.truncate(a, 40), 40);  // nothing to cut
    EXPECT_EQ(kv.truncate(a, 20), 0);   // the state cannot drop positions: starts again
    EXPECT_EQ(kv.state_positions(a), 0);
    EXPECT_EQ(kv.capacity(a), 0);
    const std::vector<int32_t> tokens(64, 7);
    EXPECT_EQ(kv.match_prefix(b, tokens), 0);
    kv.remove_sequence(b);
    EXPECT_EQ(kv.add_sequence(), b);  // the freed slot again

    o.kv_bytes = 3 * slot;  // nothing left for K and V
    EXPECT_THROW(KvCache(be, c, o), Error);
}

TEST(KvCache, BlockPoolHandsOutEveryBlockOnce) {
    BlockPool p(4);
    std::vector<int32_t> got;
    for (int i = 0; i < 4; ++i) got.push_back(p.allocate());
    EXPECT_EQ(got, (std::vector<int32_t>{0, 1, 2, 3}));
    EXPECT_EQ(p.allocate(), -1);
    p.release(2);
    EXPECT_EQ(p.n_free(), 1);
    EXPECT_EQ(p.allocate(), 2);
}

TEST(KvCache, ReserveTruncateAndFull) {
    cpu::CpuBackend be(1);
    Config c;
    c.n_layers = 2, c.n_kv_heads = 2, c.head_dim = 16;
    KvOptions o;
    o.block_size = 16;
    o.n_ctx = 64;  // 4 blocks
    KvCache kv(be, c, o);
    EXPECT_EQ(kv.n_blocks(), 4);
    EXPECT_EQ(kv.bytes(), size_t(4 * 16 * 32 * 2 * 2 * 2));  // blocks * tokens * width * f16 * (K,V) * layers
    const int32_t a = kv.add_sequence(), b = kv.add_sequence();
    kv.reserve(a, 17);
    EXPECT_EQ(kv.capacity(a), 32);
    kv.reserve(b, 32);
    EXPECT_EQ(kv.n_blocks_free(), 0);
    try {
        kv.reserve(a, 33);
        FAIL() << "expected KvFullError";
    } catch (const KvFullError& e) {
        EXPECT_NE(std::string(e.what()).find("needs 33 positions"), std::string::npos) << e.what();
    }
    kv.truncate(b, 10);
    EXPECT_EQ(kv.n_blocks_free(), 1);
    kv.remove_sequence(a);
    EXPECT_EQ(kv.n_blocks_free(), 3);
    EXPECT_EQ(kv.add_sequence(), a);  // ids are reused
}

TEST(Batch, RejectsBadBatches) {
    cpu::CpuBackend be(1);
    auto m = Model::load(MiniQwen3{}.write("batch.gguf"), be);
    KvCache kv(be, m->config(), KvOptions{});
    const int32_t seq = kv.add_sequence();
    Batch b;
    const int s = b.add_sequence(seq);
    b.add(s, 999, 0, true);  // outside the vocabulary of 64
    EXPECT_THROW(m->forward(b, kv), std::invalid_argument);
    b.clear();
    b.add(b.add_sequence(seq), 1, 3, false);
    b.add(0, 2, 3, true);  // positions must increase
    EXPECT_THROW(m->forward(b, kv), std::invalid_argument);
}

}  // namespace
}  // namespace hotrod::model
