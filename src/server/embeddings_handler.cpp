// The embeddings endpoint (see embeddings_handler.h). The inputs of one request go to the engine as separate
// sequences, so they are batched with each other and with whatever else runs. They are submitted as the queue
// allows: a request with more inputs than the queue holds waits for its own inputs to finish rather than being
// refused, and is refused (503) only when the queue is full of others' requests.
//
// The reply is written once every input is done. Unlike generation, a client that leaves is not noticed until
// then (embeddings take one prompt pass each, so this is bounded by the inputs' length).
#include "server/embeddings_handler.h"

#include <chrono>
#include <cstdio>
#include <deque>

#include "server/api_error.h"
#include "server/embeddings_request.h"
#include "server/generation_handler.h"
#include "server/json_fields.h"

namespace hotrod::server {
namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kPollInterval = std::chrono::milliseconds(250);

// Waits until stream s has its final event; returns it.
engine::Event wait_final(engine::Stream& s) {
    std::vector<engine::Event> events;
    for (;;) {
        s.wait(events, kPollInterval);
        for (auto& e : events)
            if (e.finish != engine::FinishReason::none) return std::move(e);
        events.clear();
    }
}

}  // namespace

void handle_embeddings(SharedState& st, const httplib::Request& req, httplib::Response& res) {
    const Clock::time_point arrived = Clock::now();
    if (!st.opt.embeddings)
        throw not_found("embeddings are not enabled on this server: start it with `hotrod serve --embeddings` (and "
                        "--pooling mean|cls|last for a model whose file names no pooling type)",
                        {}, "embeddings_not_enabled");
    std::shared_ptr<LoadedModel> m = require_model(st);
    const auto body = parse_body(req.body);
    EmbeddingsRequest r = parse_embeddings_request(body, m->n_vocab);
    check_model_name(st, *m, r.model);

    std::vector<std::vector<int32_t>> prompts;
    prompts.reserve(r.inputs.size());
    int64_t n_tokens = 0;
    for (size_t i = 0; i < r.inputs.size(); ++i) {
        EmbeddingInput& in = r.inputs[i];
        std::vector<int32_t> ids = in.is_ids ? std::move(in.ids) : m->encode_prompt(in.text);
        const std::string where = r.inputs.size() == 1 ? std::string("the input") : "input " + std::to_string(i);
        if (ids.empty()) throw bad_request(where + " has no tokens", "input");
        if (int64_t(ids.size()) > m->max_context)
            throw bad_request(where + " has " + std::to_string(ids.size()) + " tokens; the context holds " +
                                  std::to_string(m->max_context),
                              "input", "context_length_exceeded");
        n_tokens += int64_t(ids.size());
        prompts.push_back(std::move(ids));
    }

    const std::string id = st.new_request_id("embd-");
    std::vector<std::shared_ptr<engine::Stream>> streams(prompts.size());
    std::deque<size_t> in_flight;
    std::vector<std::vector<float>> embeddings(prompts.size());
    auto cancel_all = [&] {
        for (const size_t i : in_flight) streams[i]->cancel();
    };
    // Takes the oldest input in flight to its end; throws (after cancelling the rest) when the engine failed it.
    auto collect_one = [&] {
        const size_t i = in_flight.front();
        in_flight.pop_front();
        engine::Event e = wait_final(*streams[i]);
        if (e.finish != engine::FinishReason::stop) {
            cancel_all();
            throw internal_error("embedding of input " + std::to_string(i) + " failed: " +
                                 (e.error.empty() ? engine::to_string(e.finish) : e.error));
        }
        embeddings[i] = std::move(e.embedding);
    };
    for (size_t i = 0; i < prompts.size(); ++i) {
        for (;;) {
            engine::Request er;
            er.id = id + "-" + std::to_string(i);
            er.prompt = prompts[i];
            er.pooling = m->pooling;
            try {
                streams[i] = m->engine->submit(std::move(er));
                in_flight.push_back(i);
                break;
            } catch (const engine::QueueFullError& e) {
                if (in_flight.empty()) throw unavailable(std::string("the server is busy: ") + e.what(), "queue_full");
                collect_one();  // room frees as our own inputs finish
            } catch (const engine::ShuttingDownError&) {
                cancel_all();
                throw unavailable("the server is shutting down", "shutting_down");
            } catch (const std::invalid_argument& e) {
                cancel_all();
                throw bad_request(e.what(), "input");
            }
        }
    }
    while (!in_flight.empty()) collect_one();

    const std::string model_name = r.model.empty() ? st.public_model_name(*m) : r.model;
    res.status = 200;
    res.set_content(embeddings_body(model_name, embeddings, r.base64, n_tokens), "application/json");
    std::fprintf(stderr, "hotrod serve: %s embeddings inputs=%zu prompt=%lld pooling=%s latency=%.0fms\n", id.c_str(),
                 prompts.size(), (long long)n_tokens, engine::to_string(m->pooling),
                 std::chrono::duration<double, std::milli>(Clock::now() - arrived).count());
}

}  // namespace hotrod::server
