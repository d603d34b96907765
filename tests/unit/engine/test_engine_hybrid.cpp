// The engine on a hybrid model (synthetic tiny Qwen3.5) over a backend that asks for aligned prompt cuts
// (Backend::recurrent_align, as CUDA's batch invariance does): a prompt cut short by the step's budget ends at a
// multiple of the alignment whatever else the step holds, and a prompt resumed from the prefix cache starts at one
// (its snapshot), so every prompt run of every sequence starts on the chunk grid the backend's delta rule cuts
// from. Served together and one at a time, the requests get the same greedy tokens; a step budget below the
// alignment starves no prompt.
#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

#include "cpu/cpu_backend.h"
#include "engine/engine.h"
#include "engine_test_util.h"
#include "model/model.h"
#include "model/synth.h"
#include "text/tokenizer.h"

namespace hotrod::engine {
namespace {

constexpr int kAlign = 64;

// The CPU backend saying kAlign, recording each step's prompt runs as (first position, tokens).
class AlignedRecorder : public cpu::CpuBackend {
public:
    using cpu::CpuBackend::CpuBackend;
    int recurrent_align() const override { return kAlign; }
    void begin_step(const backend::StepIndex& s) override {
        const auto& pos = s.recurrent.positions;
        const auto& seq = s.recurrent.token_seq;
        const size_t first_prompt = s.decode_tokens < 0 ? 0 : size_t(s.decode_tokens);
        mixed_steps += first_prompt > 0 && first_prompt < pos.size();
        for (size_t t = first_prompt; t < pos.size();) {
            size_t e = t;
            while (e < pos.size() && seq[e] == seq[t]) ++e;
            prompt_runs.emplace_back(pos[t], int(e - t));
            t = e;
        }
        cpu::CpuBackend::begin_step(s);
    }
    std::vector<std::pair<int, int>> prompt_runs;
    int mixed_steps = 0;  // steps holding decode tokens and a prompt run
};

struct SynthQwen35 {
    std::string path;
    SynthQwen35() {
        const std::string vocab = std::string(HOTROD_SOURCE_DIR) + "/../shared/vocab/ggml-vocab-qwen35.gguf";
        if (!std::filesystem::exists(vocab)) return;
        model::SynthOptions o;
        o.arch = "qwen35";
        o.vocab_path = vocab;
        o.seed = 5;
        path = (std::filesystem::temp_directory_path() / ("hotrod_engine_hybrid_" + std::to_string(::getpid()) + ".gguf"))
                   .string();
        model::write_synthetic_model(o, path);
    }
    ~SynthQwen35() {
        if (!path.empty()) std::filesystem::remove(path);
    }
};

// Four prompts of 150-260 random tokens, the last two sharing the first's first 200 (a prefix-cache hit once the
// first has run).
std::vector<Request> requests() {
    std::mt19937 rng(3);
    std::vector<Request> out;
    for (int i = 0; i < 4; ++i) {
        Request r;
        r.prompt.resize(size_t(150 + 37 * i));
        for (int32_t& t : r.prompt) t = int32_t(rng() % 5000);
        if (i >= 2) std::copy(out[0].prompt.begin(), out[0].prompt.begin() + 140, r.prompt.begin());
        r.sampling.temperature = 0.0f;
        r.max_tokens = 12;
        out.push_back(r);
    }
    return out;
}

// The synthetic model on the recorder, with an engine of n_parallel slots and steps of step_tokens.
struct Served {
    SynthQwen35 synth;
    AlignedRecorder be{2};
    std::unique_ptr<model::Model> m;
    std::unique_ptr<text::Tokenizer> tok;
    std::unique_ptr<Engine> e;
    Served(int n_parallel, int step_tokens) {
        if (synth.path.empty()) return;
        model::LoadOptions lo;
        lo.max_batch_tokens = step_tokens;
        m = model::Model::load(synth.path, be, lo);
        tok = std::make_unique<text::Tokenizer>(text::Tokenizer::from_gguf(synth.path));
        EngineOptions o;
        o.n_parallel = n_parallel;
        o.step_tokens = step_tokens;
        e = std::make_unique<Engine>(*m, *tok, 2048, o);
    }
};

TEST(EngineHybrid, PromptRunsStartOnTheBackendsAlignment) {
    Served s(3, 100);  // every prompt cut, beside other sequences' decode tokens
    if (!s.e) GTEST_SKIP() << "no qwen35 vocab";
    Engine& e = *s.e;
    AlignedRecorder& be = s.be;
    const std::vector<Request> reqs = requests();

    std::vector<std::vector<int32_t>> alone;
    for (const Request& r : reqs) alone.push_back(test::collect(*e.submit(r)).ids);
    std::vector<std::shared_ptr<Stream>> streams;
    for (const Request& r : reqs) streams.push_back(e.submit(r));
    int cached = 0;
    for (size_t i = 0; i < reqs.size(); ++i) {
        const test::Result r = test::collect(*streams[i]);
        EXPECT_EQ(r.ids, alone[i]) << "request " << i;
        cached += r.usage.cached_tokens;
    }
    e.shutdown(std::chrono::milliseconds(0));

    EXPECT_GT(cached, 0) << "no prefix-cache hit";
    ASSERT_FALSE(be.prompt_runs.empty());
    int cut_short = 0;
    for (const auto& [first, n] : be.prompt_runs) {
        EXPECT_EQ(first % kAlign, 0) << "a prompt run of " << n << " tokens from position " << first;
        cut_short += n < 100 && (first + n) % kAlign == 0;
    }
    EXPECT_GT(cut_short, 0) << "no prompt was cut by the budget";
}

// A step budget below the alignment (40 < 64) beside a sequence decoding: a prompt cut short waits at most one step
// for a multiple it can never reach, then takes what the budget gives: its prompt runs beside the decode tokens
// (waiting for a step without them would wait for the decoding sequence's 300 tokens to end).
TEST(EngineHybrid, ABudgetBelowTheAlignmentStarvesNoPrompt) {
    Served s(2, 40);
    if (!s.e) GTEST_SKIP() << "no qwen35 vocab";
    Engine& e = *s.e;
    AlignedRecorder& be = s.be;
    std::vector<Request> reqs = requests();
    Request decoder = reqs[0];
    decoder.prompt.resize(8);
    decoder.max_tokens = 300;
    decoder.ignore_eos = true;
    auto long_run = e.submit(decoder);
    while (e.stats().generated_tokens == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    const test::Result r = test::collect(*e.submit(reqs[3]));  // a 261-token prompt
    EXPECT_EQ(r.finish, FinishReason::length) << r.error;
    EXPECT_EQ(test::collect(*long_run).finish, FinishReason::length);
    EXPECT_GT(be.mixed_steps, 0) << "the prompt waited for the decoding sequence to end";
    e.shutdown(std::chrono::milliseconds(0));
}
}  // namespace
}  // namespace hotrod::engine
