// The engine over a tensor-parallel group (engine/ranks.h): the CPU's stand-in for NCCL, cpu::HostGroup, joins two
// CpuBackends, each loading its slice of a synthetic tiny Qwen3 (model/tensor_parallel.h). Against the same engine
// on the unsplit model: the same greedy tokens for every request, served four at a time with prompts prefilled in
// chunks beside decode tokens, and a repeated prompt finding its prefix cached on every rank.
// The model-level sharding math and its tolerances are tests/unit/model/test_tensor_parallel.cpp's.
#include <gtest/gtest.h>

#include <array>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <unistd.h>
#include <vector>

#include "cpu/cpu_backend.h"
#include "cpu/host_group.h"
#include "engine/engine.h"
#include "engine_test_util.h"
#include "model/model.h"
#include "model/synth.h"
#include "text/tokenizer.h"

namespace hotrod::engine {
namespace {

std::string synth_tiny_q8_0() {
    const std::string vocab = std::string(HOTROD_SOURCE_DIR) + "/../shared/vocab/ggml-vocab-qwen2.gguf";
    if (!std::filesystem::exists(vocab)) return "";
    model::SynthOptions o;
    o.vocab_path = vocab;
    o.seed = 21;
    const auto path = std::filesystem::temp_directory_path() /
                      ("hotrod_engine_tp_" + std::to_string(::getpid()) + ".gguf");
    model::write_synthetic_model(o, path.string());
    return path.string();
}

// Requests of random token prompts (the synthetic model reads ids, not text), the third repeating the first.
std::vector<Request> requests() {
    std::mt19937 rng(9);
    std::vector<Request> out;
    for (int i = 0; i < 6; ++i) {
        Request r;
        if (i == 2) {
            r.prompt = out[0].prompt;
        } else {
            r.prompt.resize(size_t(20 + 37 * i));
            for (int32_t& t : r.prompt) t = int32_t(rng() % 5000);
        }
        r.sampling.temperature = 0.0f;
        r.max_tokens = 16;
        out.push_back(r);
    }
    return out;
}

struct Served {
    std::vector<std::vector<int32_t>> ids;
    EngineStats stats;
};

Served serve(std::span<model::Model* const> ranks, const text::Tokenizer& tok) {
    EngineOptions o;
    o.n_parallel = 4;
    o.step_tokens = 48;  // prompts prefilled in several chunks, interleaved with decode tokens
    Engine e(ranks, tok, 512, o);
    Served s;
    std::vector<Request> reqs = requests();
    // The repeated prompt goes after the first has finished, so its blocks are published.
    s.ids.push_back(test::collect(*e.submit(reqs[0])).ids);
    std::vector<std::shared_ptr<Stream>> streams;
    for (size_t i = 1; i < reqs.size(); ++i) streams.push_back(e.submit(reqs[i]));
    for (auto& st : streams) s.ids.push_back(test::collect(*st).ids);
    s.stats = e.stats();
    return s;
}

model::LoadOptions load_options(model::TensorParallel tp) {
    model::LoadOptions lo;
    lo.max_batch_tokens = 64;
    lo.max_logit_rows = 8;
    lo.max_seqs = 8;
    lo.tp = tp;
    return lo;
}

TEST(EngineTensorParallel, TwoRanksServeWhatOneModelServes) {
    const std::string path = synth_tiny_q8_0();
    if (path.empty()) GTEST_SKIP() << "missing ../shared/vocab/ggml-vocab-qwen2.gguf";
    const text::Tokenizer tok = text::Tokenizer::from_gguf(path);

    cpu::CpuBackend plain_be(1);
    auto plain = model::Model::load(path, plain_be, load_options({}));
    std::array<model::Model*, 1> one{plain.get()};
    const Served want = serve(one, tok);

    cpu::HostGroup group(2);
    std::vector<std::unique_ptr<cpu::CpuBackend>> be;
    std::vector<std::unique_ptr<model::Model>> m;
    std::vector<model::Model*> ranks;
    for (int r = 0; r < 2; ++r) {
        be.push_back(std::make_unique<cpu::CpuBackend>(1));
        be.back()->join_group(&group, r);
        m.push_back(model::Model::load(path, *be.back(), load_options({r, 2})));
        ranks.push_back(m.back().get());
    }
    const Served got = serve(ranks, tok);
    std::filesystem::remove(path);

    ASSERT_EQ(got.ids.size(), want.ids.size());
    for (size_t i = 0; i < want.ids.size(); ++i) {
        EXPECT_EQ(got.ids[i].size(), 16u) << "request " << i;
        EXPECT_EQ(got.ids[i], want.ids[i]) << "request " << i;
    }
    EXPECT_EQ(got.ids[2], got.ids[0]) << "the repeated prompt";
    EXPECT_GT(got.stats.prefix_hits, 0) << "the repeated prompt found no cached prefix";
    EXPECT_EQ(got.stats.prefix_hits, want.stats.prefix_hits);
}

}  // namespace
}  // namespace hotrod::engine
