// Engine on the real default model (SmolLM2-135M): continuous batching gives every request the text it gets
// alone (greedy), the prefix cache is used and reported, preemption under a small KV cache changes nothing,
// cancellation frees the slot, stop strings and max_tokens end a request, a full queue is refused.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <thread>

#include <nlohmann/json.hpp>

#include "cpu/argmax_cpu_backend.h"
#include "cpu/cpu_backend.h"
#include "engine/engine.h"
#include "engine_test_util.h"
#include "model/model.h"
#include "text/tokenizer.h"

namespace hotrod::engine {
namespace {

using test::collect;
using test::Result;

// Polls the stats snapshot until busy_slots is `want`. The snapshot is taken after the step that pushed the
// final events (or admitted a request), so it may lag what the test saw; by how much depends on the machine's
// load, so the bound (60 s) only catches an engine that never gets there.
int busy_slots_once_settled(const Engine& e, int want) {
    for (int i = 0; i < 12000 && e.stats().busy_slots != want; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    return e.stats().busy_slots;
}

std::string chatml(const std::string& system, const std::string& user) {
    return "<|im_start|>system\n" + system + "<|im_end|>\n<|im_start|>user\n" + user +
           "<|im_end|>\n<|im_start|>assistant\n";
}

Request greedy(const text::Tokenizer& tok, const std::string& prompt, int max_tokens) {
    Request r;
    r.prompt = tok.encode(prompt, true, true);
    r.sampling.temperature = 0.0f;
    r.max_tokens = max_tokens;
    return r;
}

const std::vector<std::string> kUsers = {
    "What is the capital of France?",
    "Write a haiku about the sea.",
    "List three prime numbers.",
    "Explain what a CPU cache is in one sentence.",
    "Say hello in Spanish.",
    "What is 12 times 12?",
};

// Every kUsers request, greedy, 24 tokens, through an engine of n_parallel slots on the loaded model.
std::vector<Result> run_users(const test::Loaded& l, int n_parallel) {
    EngineOptions o;
    o.n_parallel = n_parallel;
    Engine e(*l.model, *l.tok, 2048, o);
    std::vector<std::shared_ptr<Stream>> streams;
    for (const auto& u : kUsers) streams.push_back(e.submit(greedy(*l.tok, chatml("Be brief.", u), 24)));
    std::vector<Result> out;
    for (auto& s : streams) out.push_back(collect(*s));
    return out;
}

TEST(Engine, ConcurrentRequestsGetTheTextTheyGetAlone) {
    LOADED_OR_SKIP(l);
    const std::vector<Result> alone = run_users(*l, 1);
    EngineOptions o;
    o.n_parallel = 4;
    o.step_tokens = 64;  // prompts are prefilled in several chunks, interleaved with decode tokens
    Engine e(*l->model, *l->tok, 2048, o);
    std::vector<std::shared_ptr<Stream>> streams;
    for (const auto& u : kUsers) streams.push_back(e.submit(greedy(*l->tok, chatml("Be brief.", u), 24)));
    for (size_t i = 0; i < streams.size(); ++i) {
        const Result r = collect(*streams[i]);
        EXPECT_EQ(r.finish, alone[i].finish) << i << " " << r.error;
        EXPECT_EQ(r.text, alone[i].text) << kUsers[i];
        EXPECT_EQ(r.ids, alone[i].ids);
        EXPECT_EQ(r.usage.completion_tokens, int(r.ids.size()));
        EXPECT_EQ(r.usage.prompt_tokens, int(l->tok->encode(chatml("Be brief.", kUsers[i]), true, true).size()));
        EXPECT_FALSE(r.text.empty());
    }
    EXPECT_EQ(busy_slots_once_settled(e, 0), 0);
}

// A CPU backend that records each step's token count and StepIndex::decode_tokens.
class StepKindRecorder : public cpu::CpuBackend {
public:
    using cpu::CpuBackend::CpuBackend;
    void begin_step(const backend::StepIndex& s) override {
        steps.emplace_back(int(s.tokens.size()), s.decode_tokens);
        cpu::CpuBackend::begin_step(s);
    }
    std::vector<std::pair<int, int>> steps;  // (tokens, decode_tokens)
};

// The engine tells the backend which of a step's tokens continue a generation (the leading decode_tokens) and
// which are prompt tokens (a GPU runs each kind on kernels of its own, for batch invariance): over a served batch
// the decode tokens are exactly the fed generated tokens (each request's completion but its last token) and the
// rest exactly the prompt tokens the prefix cache did not hold.
TEST(Engine, StepsSayWhichTokensAreGenerated) {
    LOADED_OR_SKIP(l);
    StepKindRecorder be(2);
    const auto m = model::Model::load(test::model_path(), be);
    EngineOptions o;
    o.n_parallel = 4;
    o.step_tokens = 64;  // prompts in chunks beside decode tokens: mixed steps
    Engine e(*m, *l->tok, 2048, o);
    std::vector<std::shared_ptr<Stream>> streams;
    for (const auto& u : kUsers) {
        Request r = greedy(*l->tok, chatml("Be brief.", u), 24);
        r.ignore_eos = true;  // every request ends by length: its last token is the one never fed
        streams.push_back(e.submit(std::move(r)));
    }
    int fed_generated = 0, fed_prompt = 0;
    for (auto& st : streams) {
        const Result r = collect(*st);
        ASSERT_EQ(r.finish, FinishReason::length) << r.error;
        fed_generated += r.usage.completion_tokens - 1;
        fed_prompt += r.usage.prompt_tokens - r.usage.cached_tokens;
    }
    e.shutdown(std::chrono::milliseconds(0));
    int decode = 0, prompt = 0, mixed = 0;
    for (const auto& [n, d] : be.steps) {
        ASSERT_GE(d, 0);
        ASSERT_LE(d, n);
        decode += d;
        prompt += n - d;
        mixed += d > 0 && d < n;
    }
    EXPECT_EQ(decode, fed_generated);
    EXPECT_EQ(prompt, fed_prompt);
    EXPECT_GT(mixed, 0) << "no step held both kinds";
    // The steps' wall time holds their forwards' (the host's share is the difference).
    const EngineStats st = e.stats();
    EXPECT_GT(st.forward_seconds, 0.0);
    EXPECT_LE(st.forward_seconds, st.step_seconds);
}

// Greedy-only steps (every row plain greedy: the model returns arg-max ids, not rows) on a backend that prefers
// them, here the CPU backend told so: the same tokens and text as the sampler's pick from the rows, for requests
// alone and batched, and a request with a penalty in the batch (rows again) changes nothing for the others.
using hotrod::test::ArgmaxCpuBackend;

TEST(Engine, GreedyIdStepsGiveTheSampledTokens) {
    LOADED_OR_SKIP(l);
    const std::vector<Result> want = run_users(*l, 4);
    ArgmaxCpuBackend be(2);
    const auto m = model::Model::load(test::model_path(), be);
    EngineOptions o;
    o.n_parallel = 4;
    o.step_tokens = 64;
    Engine e(*m, *l->tok, 2048, o);
    std::vector<std::shared_ptr<Stream>> streams;
    for (const auto& u : kUsers) streams.push_back(e.submit(greedy(*l->tok, chatml("Be brief.", u), 24)));
    Request penalised = greedy(*l->tok, chatml("Be brief.", kUsers[0]), 24);
    penalised.sampling.repetition_penalty = 1.3f;  // its rows must come back: the steps it is in are not greedy-only
    streams.push_back(e.submit(std::move(penalised)));
    for (size_t i = 0; i < kUsers.size(); ++i) {
        const Result r = collect(*streams[i]);
        EXPECT_EQ(r.finish, want[i].finish) << i << " " << r.error;
        EXPECT_EQ(r.ids, want[i].ids) << kUsers[i];
        EXPECT_EQ(r.text, want[i].text);
    }
    const Result p = collect(*streams.back());
    EXPECT_TRUE(p.error.empty()) << p.error;
    EXPECT_FALSE(p.ids.empty());
}

TEST(Engine, SecondRequestWithTheSameSystemPromptUsesThePrefixCache) {
    LOADED_OR_SKIP(l);
    std::string system = "You classify project updates. ";
    for (int i = 0; i < 12; ++i) system += "Answer with one JSON object holding the phase and the scope. ";
    Engine e(*l->model, *l->tok, 4096, EngineOptions{});
    const Result a = collect(*e.submit(greedy(*l->tok, chatml(system, kUsers[0]), 8)));
    const Result b = collect(*e.submit(greedy(*l->tok, chatml(system, kUsers[1]), 8)));
    const Result a2 = collect(*e.submit(greedy(*l->tok, chatml(system, kUsers[0]), 8)));
    EXPECT_EQ(a.usage.cached_tokens, 0);
    EXPECT_GE(b.usage.cached_tokens, 100);
    EXPECT_LT(b.usage.cached_tokens, b.usage.prompt_tokens);
    EXPECT_EQ(a2.text, a.text);  // reused K/V gives the same answer as computing it
    EXPECT_EQ(a2.ids, a.ids);
    EXPECT_GE(a2.usage.cached_tokens, a.usage.prompt_tokens - 16);
    EXPECT_EQ(busy_slots_once_settled(e, 0), 0);
    const EngineStats st = e.stats();
    EXPECT_GT(st.prefix_hits, 0u);
    EXPECT_EQ(st.cached_tokens, uint64_t(b.usage.cached_tokens + a2.usage.cached_tokens));
    EXPECT_GT(st.kv_blocks_cached, 0);
}

// A byte budget (how a GPU sizes the cache from its free memory) instead of positions: the blocks it holds.
TEST(Engine, KvByteBudgetSizesTheCache) {
    LOADED_OR_SKIP(l);
    const model::Config& c = l->model->config();
    const size_t block_bytes = size_t(16) * size_t(c.n_layers) * 2 * size_t(c.n_kv_heads) * size_t(c.head_dim) * 2;
    EngineOptions o;
    o.kv_bytes = 37 * block_bytes + 5;
    Engine e(*l->model, *l->tok, 4096, o);
    EXPECT_EQ(e.stats().kv_blocks_total, 37);
    EXPECT_EQ(e.max_context(), 37 * 16);
}

TEST(Engine, PreemptionUnderASmallCacheChangesNoOutput) {
    LOADED_OR_SKIP(l);
    std::vector<Result> alone;
    {
        Engine e(*l->model, *l->tok, 2048, EngineOptions{});
        for (size_t i = 0; i < 4; ++i) alone.push_back(collect(*e.submit(greedy(*l->tok, chatml("Be brief.", kUsers[i]), 40))));
    }
    EngineOptions o;
    o.n_parallel = 4;
    Engine e(*l->model, *l->tok, 160, o);  // 10 blocks: four 35-token prompts growing by 40 cannot all fit
    std::vector<std::shared_ptr<Stream>> streams;
    for (size_t i = 0; i < 4; ++i) streams.push_back(e.submit(greedy(*l->tok, chatml("Be brief.", kUsers[i]), 40)));
    for (size_t i = 0; i < 4; ++i) {
        const Result r = collect(*streams[i]);
        EXPECT_EQ(r.text, alone[i].text) << i << " " << r.error;
    }
    EXPECT_GT(e.stats().preemptions, 0u);
}

TEST(Engine, CancelStopsTheRequestAndFreesTheSlot) {
    LOADED_OR_SKIP(l);
    Engine e(*l->model, *l->tok, 2048, EngineOptions{});
    auto req = greedy(*l->tok, chatml("Be verbose.", "Tell me a long story about a dragon."), 400);
    req.ignore_eos = true;
    auto s = e.submit(req);
    std::vector<Event> evs;
    while (evs.empty()) s->wait(evs, std::chrono::seconds(30));  // it is generating
    s->cancel();
    const Result r = collect(*s);
    EXPECT_EQ(r.finish, FinishReason::cancelled);
    EXPECT_LT(r.usage.completion_tokens, 400);
    EXPECT_EQ(busy_slots_once_settled(e, 0), 0);
}

TEST(Engine, StopStringsAndMaxTokensEndARequest) {
    LOADED_OR_SKIP(l);
    Engine e(*l->model, *l->tok, 2048, EngineOptions{});
    const Result full = collect(*e.submit(greedy(*l->tok, chatml("Be brief.", kUsers[3]), 32)));
    ASSERT_GE(full.text.size(), 12u);
    EXPECT_EQ(full.usage.completion_tokens, int(full.ids.size()));
    auto req = greedy(*l->tok, chatml("Be brief.", kUsers[3]), 32);
    const std::string stop = full.text.substr(6, 4);
    req.stop = {stop, "never appears in this text"};
    const Result cut = collect(*e.submit(req));
    EXPECT_EQ(cut.finish, FinishReason::stop);
    EXPECT_EQ(cut.text, full.text.substr(0, full.text.find(stop)));
    auto req2 = greedy(*l->tok, chatml("Be verbose.", "Tell me a story."), 5);
    req2.ignore_eos = true;
    const Result len = collect(*e.submit(req2));
    EXPECT_EQ(len.finish, FinishReason::length);
    EXPECT_EQ(len.usage.completion_tokens, 5);
}

TEST(Engine, SeededSamplingReproduces) {
    LOADED_OR_SKIP(l);
    Engine e(*l->model, *l->tok, 2048, EngineOptions{});
    auto req = greedy(*l->tok, chatml("Be creative.", "Invent a name for a cat."), 16);
    req.sampling.temperature = 1.0f;
    req.sampling.seed = 42;
    const Result a = collect(*e.submit(req));
    const Result b = collect(*e.submit(req));
    EXPECT_EQ(a.ids, b.ids);
}

TEST(Engine, FullQueueAndBadPromptsAreRefused) {
    LOADED_OR_SKIP(l);
    EngineOptions o;
    o.n_parallel = 1;
    o.max_queue = 0;
    Engine e(*l->model, *l->tok, 512, o);
    EXPECT_THROW(e.submit(Request{}), std::invalid_argument);
    Request huge;
    huge.prompt.assign(600, 1);
    EXPECT_THROW(e.submit(huge), std::invalid_argument);
    auto req = greedy(*l->tok, chatml("Be verbose.", "Tell me a story."), 300);
    req.ignore_eos = true;
    auto s = e.submit(req);
    ASSERT_EQ(busy_slots_once_settled(e, 1), 1);
    EXPECT_THROW(e.submit(req), QueueFullError);
    s->cancel();
    EXPECT_EQ(collect(*s).finish, FinishReason::cancelled);
    e.shutdown(std::chrono::milliseconds(0));
    EXPECT_THROW(e.submit(req), ShuttingDownError);
}

TEST(Engine, ShutdownCancelsWhatIsLeftAfterTheGracePeriod) {
    LOADED_OR_SKIP(l);
    Engine e(*l->model, *l->tok, 2048, EngineOptions{});
    auto req = greedy(*l->tok, chatml("Be verbose.", "Tell me a story."), 2000);
    req.ignore_eos = true;
    auto s = e.submit(req);
    e.shutdown(std::chrono::milliseconds(200));
    const Result r = collect(*s);
    EXPECT_EQ(r.finish, FinishReason::error);
    EXPECT_NE(r.error.find("shut"), std::string::npos);
}

}  // namespace
}  // namespace hotrod::engine
