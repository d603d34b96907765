// Pooling of embedding rows (engine/pooling.h) on hand-made rows, and an embedding request run through the
// engine: the same vector whatever the step size (mean pooling sums across prefill chunks), unit L2 norm, and a
// generation request beside it answered as when alone.
#include <gtest/gtest.h>

#include <cmath>

#include "engine/pooling.h"
#include "engine_test_util.h"

namespace hotrod::engine {
namespace {

TEST(Pooling, WantedRows) {
    EXPECT_TRUE(pooling_wants(Pooling::mean, 3, 5));
    EXPECT_TRUE(pooling_wants(Pooling::cls, 0, 5));
    EXPECT_FALSE(pooling_wants(Pooling::cls, 1, 5));
    EXPECT_TRUE(pooling_wants(Pooling::last, 4, 5));
    EXPECT_FALSE(pooling_wants(Pooling::last, 3, 5));
    EXPECT_FALSE(pooling_wants(Pooling::none, 0, 5));
}

TEST(Pooling, MeanThenL2) {
    std::vector<double> acc(2, 0.0);
    const float r0[] = {1, 2}, r1[] = {3, 6};
    pool_row(Pooling::mean, acc, r0);
    pool_row(Pooling::mean, acc, r1);
    const std::vector<float> v = finish_pooling(Pooling::mean, acc, 2);  // mean (2, 4), norm sqrt(20)
    EXPECT_NEAR(v[0], 2 / std::sqrt(20.0), 1e-7);
    EXPECT_NEAR(v[1], 4 / std::sqrt(20.0), 1e-7);
}

TEST(Pooling, LastKeepsTheRowAndZeroStaysZero) {
    std::vector<double> acc(2, 0.0);
    const float r0[] = {5, 5}, r1[] = {0, -3};
    pool_row(Pooling::last, acc, r0);
    pool_row(Pooling::last, acc, r1);
    EXPECT_EQ(finish_pooling(Pooling::last, acc, 2), (std::vector<float>{0.0f, -1.0f}));
    const std::vector<double> zero(3, 0.0);
    EXPECT_EQ(finish_pooling(Pooling::mean, zero, 4), (std::vector<float>(3, 0.0f)));
}

std::vector<float> embed(Engine& e, const std::vector<int32_t>& prompt, Pooling p) {
    Request r;
    r.id = "embd";
    r.prompt = prompt;
    r.pooling = p;
    auto s = e.submit(std::move(r));
    std::vector<Event> events;
    while (!s->finished()) s->wait(events, std::chrono::milliseconds(100));
    while (s->wait(events, std::chrono::milliseconds(0))) {
    }
    EXPECT_FALSE(events.empty());
    EXPECT_EQ(events.back().finish, FinishReason::stop) << events.back().error;
    EXPECT_EQ(events.back().usage.prompt_tokens, int(prompt.size()));
    EXPECT_EQ(events.back().usage.completion_tokens, 0);
    return events.back().embedding;
}

TEST(PoolingEngine, ChunkedEqualsWholeAndUnitNorm) {
    LOADED_OR_SKIP(l);
    model::LoadOptions lo;
    lo.max_embd_rows = lo.max_batch_tokens;
    auto m = model::Model::load(test::model_path(), l->be, lo);
    std::vector<int32_t> prompt = l->tok->encode(std::string(40, 'a') + " the quick brown fox jumps over the dog", false, false);
    for (int i = 0; i < 3; ++i) prompt.insert(prompt.end(), prompt.begin(), prompt.end());
    std::vector<float> whole, chunked;
    for (const int step : {512, 7}) {
        EngineOptions o;
        o.step_tokens = step;
        Engine e(*m, *l->tok, 4096, o);
        for (const Pooling p : {Pooling::mean, Pooling::cls, Pooling::last}) {
            const std::vector<float> v = embed(e, prompt, p);
            ASSERT_EQ(v.size(), size_t(m->config().n_embd));
            double sq = 0;
            for (const float x : v) sq += double(x) * x;
            EXPECT_NEAR(std::sqrt(sq), 1.0, 1e-5);
            if (p != Pooling::mean) continue;
            (step == 512 ? whole : chunked) = v;
        }
    }
    double dot = 0;
    for (size_t i = 0; i < whole.size(); ++i) dot += double(whole[i]) * chunked[i];
    EXPECT_GT(dot, 0.99999) << "mean pooling over 7-token chunks differs from one pass";
}

TEST(PoolingEngine, RefusedWithoutRows) {
    LOADED_OR_SKIP(l);
    Engine e(*l->model, *l->tok, 256, EngineOptions{});  // the shared model was loaded with max_embd_rows 0
    Request r;
    r.prompt = {1, 2, 3};
    r.pooling = Pooling::mean;
    EXPECT_THROW(e.submit(std::move(r)), std::invalid_argument);
}

}  // namespace
}  // namespace hotrod::engine
