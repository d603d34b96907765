// Engine: construction (KV cache, token index for grammars), submit(), the engine thread's loop and shutdown.
#include "engine/engine.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <limits>

#include "engine/engine_impl.h"

namespace hotrod::engine {

namespace {

std::shared_ptr<sample::TokenIndex> build_token_index(const text::Tokenizer& tok, int n_vocab,
                                                      std::vector<int32_t> eog_ids) {
    std::vector<std::string> pieces(static_cast<size_t>(n_vocab));
    for (int i = 0; i < n_vocab && size_t(i) < tok.n_tokens(); ++i)
        if (!tok.is_control(i)) pieces[size_t(i)] = std::string(tok.piece(i));
    return std::make_shared<sample::TokenIndex>(std::move(pieces), std::move(eog_ids));
}

}  // namespace

Engine::Impl::Impl(std::span<model::Model* const> models, const text::Tokenizer& t, int kv_positions,
                   const EngineOptions& o)
    : model(*models.front()), tok(t), opt(o) {
    const auto& c = model.config();
    n_vocab = c.n_vocab;
    opt.n_parallel = std::clamp(opt.n_parallel, 1, std::min(model.options().max_logit_rows, model.options().max_seqs));
    opt.step_tokens = std::clamp(opt.step_tokens, opt.n_parallel, model.options().max_batch_tokens);
    opt.max_queue = std::max(opt.max_queue, 0);
    model::KvOptions ko;
    ko.n_ctx = std::max(kv_positions, 16);
    ko.kv_bytes = opt.kv_bytes;
    ko.n_seqs = opt.n_parallel + 1;  // admit() adds a sequence before it knows there is room for it
    ranks = std::make_unique<Ranks>(models, ko);
    max_ctx = ranks->kv().n_positions_total();
    if (c.n_ctx_train > 0) max_ctx = std::min(max_ctx, c.n_ctx_train);
    for (int32_t id = 0; id < n_vocab && size_t(id) < tok.n_tokens(); ++id)
        if (tok.is_eog(id)) eog_ids.push_back(id);
    index = build_token_index(tok, n_vocab, eog_ids);
    mask.resize((size_t(n_vocab) + 63) / 64);
    think_close = tok.find_token("</think>");
    if (think_close >= n_vocab) think_close = -1;
    totals.kv_blocks_total = ranks->kv().n_blocks();
    snapshot = totals;
}

Engine::Engine(model::Model& model, const text::Tokenizer& tok, int kv_positions, const EngineOptions& opt)
    : Engine(std::span<model::Model* const>(std::array<model::Model*, 1>{&model}), tok, kv_positions, opt) {}

Engine::Engine(std::span<model::Model* const> ranks, const text::Tokenizer& tok, int kv_positions,
               const EngineOptions& opt)
    : impl_(std::make_unique<Impl>(ranks, tok, kv_positions, opt)) {
    impl_->thread = std::thread([this] { impl_->run(); });
}

Engine::~Engine() { shutdown(std::chrono::milliseconds(0)); }

int Engine::max_context() const { return impl_->max_ctx; }

const sample::TokenIndex& Engine::token_index() const { return *impl_->index; }

EngineStats Engine::stats() const {
    std::lock_guard lock(impl_->stats_mu);
    EngineStats s = impl_->snapshot;
    s.queue_depth = impl_->n_queued.load();
    return s;
}

std::shared_ptr<Stream> Engine::submit(Request r) {
    Impl& m = *impl_;
    if (r.prompt.empty()) throw std::invalid_argument("the prompt has no tokens");
    if (r.pooling != Pooling::none) {
        // Every row of a step may be an embedding row (mean pooling over a prefill chunk).
        if (m.model.options().max_embd_rows < m.opt.step_tokens)
            throw std::invalid_argument("the model was loaded without room for embedding rows (max_embd_rows " +
                                        std::to_string(m.model.options().max_embd_rows) + " < step tokens " +
                                        std::to_string(m.opt.step_tokens) + ")");
        if (int(r.prompt.size()) > m.max_ctx)
            throw std::invalid_argument("the input has " + std::to_string(r.prompt.size()) +
                                        " tokens; the context holds " + std::to_string(m.max_ctx));
    } else if (int(r.prompt.size()) >= m.max_ctx)
        throw std::invalid_argument("the prompt has " + std::to_string(r.prompt.size()) +
                                    " tokens; the context holds " + std::to_string(m.max_ctx) +
                                    " and at least one must be left to generate");
    for (const int32_t t : r.prompt)
        if (t < 0 || t >= m.n_vocab)
            throw std::invalid_argument("token id " + std::to_string(t) + " is outside the vocabulary of " +
                                        std::to_string(m.n_vocab));
    auto stream = std::make_shared<Stream>();
    auto seq = std::make_unique<Sequence>(m.tok, std::move(r), stream);
    seq->t_submit = Clock::now();
    {
        std::lock_guard lock(m.mu);
        if (!m.accepting) throw ShuttingDownError("the server is shutting down");
        // Requests beyond the free slots wait; at most max_queue of them.
        const int free_slots = std::max(0, m.opt.n_parallel - m.n_running.load());
        if (m.n_queued.load() >= m.opt.max_queue + free_slots)
            throw QueueFullError("the request queue is full (" + std::to_string(m.opt.max_queue) +
                                 " waiting, --max-queue); retry later");
        m.n_queued.fetch_add(1);
        m.incoming.push_back(std::move(seq));
    }
    m.cv.notify_all();
    return stream;
}

void Engine::shutdown(std::chrono::milliseconds grace) {
    Impl& m = *impl_;
    {
        std::lock_guard lock(m.mu);
        if (!m.shutting_down) {
            m.accepting = false;
            m.shutting_down = true;
            m.deadline = Clock::now() + grace;
        } else {
            m.deadline = std::min(m.deadline, Clock::now() + grace);
        }
    }
    m.cv.notify_all();
    if (m.thread.joinable() && m.thread.get_id() != std::this_thread::get_id()) m.thread.join();
}

void Engine::Impl::run() {
    for (;;) {
        bool stop_now = false;
        {
            std::unique_lock lock(mu);
            const auto has_work = [&] { return !incoming.empty() || !waiting.empty() || !running.empty(); };
            if (!has_work() && !shutting_down) cv.wait(lock, [&] { return has_work() || shutting_down; });
            while (!incoming.empty()) {
                waiting.push_back(std::move(incoming.front()));
                incoming.pop_front();
            }
            if (shutting_down) {
                if (waiting.empty() && running.empty()) return;
                stop_now = Clock::now() >= deadline;
            }
        }
        if (stop_now) {
            cancel_everything("the server shut down before the request finished");
            update_stats();
            return;
        }
        try {
            step();
        } catch (const std::exception& e) {
            // A failure the step could not attribute to one sequence: end every request with the error rather
            // than leave connections hanging, and go on serving new ones.
            std::fprintf(stderr, "engine: step failed: %s\n", e.what());
            cancel_everything(e.what());
        }
        update_stats();
    }
}

void Engine::Impl::cancel_everything(const char* why) {
    for (auto& s : running) finish(*s, FinishReason::error, why);
    running.clear();
    for (auto& s : waiting) {
        if (!s->admitted_once) n_queued.fetch_sub(1);
        finish(*s, FinishReason::error, why);
    }
    waiting.clear();
}

void Engine::Impl::update_stats() {
    totals.busy_slots = int(running.size());
    n_running.store(totals.busy_slots);
    const model::KvCache& kv = ranks->kv();
    totals.kv_blocks_cached = kv.n_blocks_cached();
    totals.kv_blocks_used = kv.n_blocks() - kv.n_blocks_available();
    totals.kv_blocks_total = kv.n_blocks();
    totals.prefix_lookups = kv.prefix_lookups();
    totals.prefix_hits = kv.prefix_hits();
    totals.backend_counters.clear();
    ranks->model().backend().counters(totals.backend_counters);
    std::lock_guard lock(stats_mu);
    snapshot = totals;
}

}  // namespace hotrod::engine
