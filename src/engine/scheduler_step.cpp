// One scheduler step: drop cancelled requests, admit waiting ones (prefix cache look-up), gather every pending
// token into one batch (decode tokens and forced runs first, then prefill chunks oldest first, within
// step_tokens), run the model (preempting the youngest sequence when the KV cache is full), sample each logits
// row under its grammar mask, pool each embedding row, and push the step's events. An embedding request is a
// prompt-only sequence: its chunks ask for hidden rows instead of logits and it finishes when its prompt is run.
#include <algorithm>
#include <cmath>
#include <limits>

#include "engine/engine_impl.h"
#include "engine/pooling.h"

namespace hotrod::engine {

namespace {

double ms_between(Clock::time_point a, Clock::time_point b) {
    return std::chrono::duration<double, std::milli>(b - a).count();
}

template <class V>
void erase_done(V& v) {
    v.erase(std::remove_if(v.begin(), v.end(), [](const auto& s) { return s->done; }), v.end());
}

}  // namespace

void Engine::Impl::step() {
    const Clock::time_point t_step = Clock::now();
    struct AddElapsed {  // the step's wall time, however it returns
        Clock::time_point t0;
        double& total;
        ~AddElapsed() { total += std::chrono::duration<double>(Clock::now() - t0).count(); }
    } step_timer{t_step, totals.step_seconds};
    check_cancelled();
    admit();
    if (running.empty()) return;
    build_batch();
    if (batch.n_tokens() == 0) return;
    // Rows whose pick is the raw arg-max (plain greedy, no grammar mask this step) need only that from the model.
    batch.greedy_only = !row_seqs.empty() && std::all_of(row_seqs.begin(), row_seqs.end(), [](const Sequence* s) {
        return !s->grammar_on && s->sampler && s->sampler->picks_raw_argmax();
    });
    const Clock::time_point t_forward = Clock::now();
    const bool ran = forward_or_preempt();
    totals.forward_seconds += std::chrono::duration<double>(Clock::now() - t_forward).count();
    if (!ran) {
        erase_done(running);
        return;
    }
    for (Sequence* s : batch_seqs) {
        s->n_computed += s->n_feeding;
        s->n_feeding = 0;
        ranks->publish_prefix(s->kv_id, s->tokens, s->n_computed);
    }
    for (size_t i = 0; i < row_seqs.size(); ++i) {
        if (!model.greedy_ids_only()) {
            on_logits(*row_seqs[i], model.logits(int(i)));
            continue;
        }
        sample::SampleResult r;  // what sample() gives such a row: its first arg-max, or no candidate
        r.token_id = model.greedy_id(int(i));
        if (r.token_id < 0) r.status = sample::SampleStatus::no_candidates;
        on_sampled(*row_seqs[i], r);
    }
    for (size_t i = 0; i < embd_seqs.size(); ++i)
        pool_row(embd_seqs[i]->req.pooling, embd_seqs[i]->embd_acc, model.embedding_row(int(i)));
    for (Sequence* s : batch_seqs)
        if (s->req.pooling != Pooling::none && s->n_computed >= s->n_prompt) finish_embedding(*s);
    ++totals.steps;
    flush_events();
    erase_done(running);
}

void Engine::Impl::check_cancelled() {
    for (auto& s : running)
        if (s->stream->cancelled()) finish(*s, FinishReason::cancelled);
    erase_done(running);
    for (auto& s : waiting)
        if (s->stream->cancelled()) {
            n_queued.fetch_sub(s->admitted_once ? 0 : 1);
            finish(*s, FinishReason::cancelled);
        }
    erase_done(waiting);
}

void Engine::Impl::admit() {
    while (int(running.size()) < opt.n_parallel && !waiting.empty()) {
        Sequence& s = *waiting.front();
        if (!s.admitted_once && !start(s)) {  // finished at once (bad params, or max_tokens reached by scaffolding)
            n_queued.fetch_sub(1);
            waiting.pop_front();
            continue;
        }
        s.kv_id = ranks->add_sequence();
        // Mean and cls pooling read rows the prefix cache would skip; last pooling reads only the last row, which
        // is always computed.
        const bool reads_all = s.req.pooling == Pooling::mean || s.req.pooling == Pooling::cls;
        const int matched = reads_all ? 0 : ranks->match_prefix(s.kv_id, s.tokens);
        const int bs = ranks->kv().block_size();
        const int need = (int(s.tokens.size()) + 1 + bs - 1) / bs - matched / bs;
        if (need > ranks->kv().n_blocks_available() && !running.empty()) {
            ranks->remove_sequence(s.kv_id);  // not enough room yet: wait for running sequences to finish
            s.kv_id = -1;
            return;
        }
        s.n_computed = matched;
        if (s.req.pooling != Pooling::none) s.embd_acc.assign(size_t(model.config().n_embd), 0.0);
        if (!s.admitted_once) {
            s.admitted_once = true;
            s.order = next_order++;
            s.cached_tokens = std::min(matched, s.n_prompt);
            s.t_admit = Clock::now();
            totals.cached_tokens += uint64_t(s.cached_tokens);
            totals.prompt_tokens += uint64_t(s.n_prompt);
            n_queued.fetch_sub(1);
        }
        running.push_back(std::move(waiting.front()));
        waiting.pop_front();
    }
}

bool Engine::Impl::start(Sequence& s) {
    s.tokens = s.req.prompt;
    s.n_prompt = int(s.tokens.size());
    if (s.req.pooling != Pooling::none) return true;  // nothing is sampled
    sample::SamplingParams p = s.req.sampling;
    if (s.req.ignore_eos)
        for (const int32_t id : eog_ids) p.logit_bias.emplace_back(id, -std::numeric_limits<float>::infinity());
    try {
        if (!spare_samplers.empty()) {
            s.sampler = std::move(spare_samplers.back());
            spare_samplers.pop_back();
            s.sampler->reset(p);
        } else {
            s.sampler = std::make_unique<sample::Sampler>(n_vocab, p);
        }
    } catch (const std::exception& e) {
        finish(s, FinishReason::error, e.what());
        return false;
    }
    s.sampler->accept_prompt(s.tokens);
    if (s.req.grammar) {
        s.matcher.emplace(s.req.grammar, index);
        s.grammar_on = !(s.req.start_in_reasoning && think_close >= 0);
        // The scaffolding the grammar forces at the start (`{"phase": "`) joins the prompt's prefill.
        if (s.grammar_on && opt.jump_forward && !s.req.sampling.logprobs) append_forced(s);
        if (check_done(s)) return false;
    }
    return true;
}

// A running sequence's pending tokens count as decode tokens (Batch::n_decode: a GPU keeps them on its decode
// kernels, so they compute alike alone or batched) when they are its next sampled token or a forced run of up to
// this many; more (the whole text of a preempted sequence coming back) run as prompt tokens.
constexpr int kMaxDecodeRun = 16;

void Engine::Impl::build_batch() {
    batch.clear();
    batch_seqs.clear();
    row_seqs.clear();
    embd_seqs.clear();
    int budget = opt.step_tokens;
    const int align = ranks->kv().prompt_align();
    // Decode tokens (and forced runs) of every running sequence first, so a long prefill never stalls them; then a
    // preempted sequence's recomputation; then prefill chunks, oldest request first.
    enum class Pass { decode, resumed, prefill };
    for (const Pass pass : {Pass::decode, Pass::resumed, Pass::prefill}) {
        for (auto& sp : running) {
            Sequence& s = *sp;
            if (s.pending() <= 0 || budget <= 0) continue;
            const Pass kind = !s.sampled_once                ? Pass::prefill
                              : s.pending() <= kMaxDecodeRun ? Pass::decode
                                                             : Pass::resumed;
            if (kind != pass) continue;
            int take = std::min(s.pending(), budget);
            // A hybrid model's prompt cut short ends at a multiple of prompt_align, so its chunks do not depend on
            // what else the step holds (nor on a prefix-cache hit, whose snapshots sit on those multiples). A
            // budget that reaches no multiple waits one step (not more: a step budget below prompt_align beside
            // steady decoding would starve it), unless the batch would be empty.
            if (kind == Pass::prefill && take < s.pending() && align > 1) {
                const int cut = (s.n_computed + take) / align * align - s.n_computed;
                if (cut > 0) {
                    take = cut;
                } else if (batch.n_tokens() > 0 && !s.waited_for_align) {
                    s.waited_for_align = true;
                    continue;
                }
            }
            s.waited_for_align = false;
            const int seq = batch.add_sequence(s.kv_id);
            const bool embedding = s.req.pooling != Pooling::none;
            for (int j = 0; j < take; ++j) {
                const int pos = s.n_computed + j;
                const bool want = !embedding && pos == int(s.tokens.size()) - 1;
                const bool want_embd = embedding && pooling_wants(s.req.pooling, pos, s.n_prompt);
                batch.add(seq, s.tokens[size_t(pos)], pos, want, want_embd);
                if (want) row_seqs.push_back(&s);
                if (want_embd) embd_seqs.push_back(&s);
            }
            s.n_feeding = take;
            batch_seqs.push_back(&s);
            budget -= take;
        }
        if (pass == Pass::decode) batch.n_decode = batch.n_tokens();
    }
}

bool Engine::Impl::forward_or_preempt() {
    for (;;) {
        try {
            ranks->forward(batch);
            return true;
        } catch (const model::KvFullError& e) {
            if (running.size() <= 1) {
                for (auto& s : running) finish(*s, FinishReason::error, e.what());
                return false;
            }
            // Make room by dropping the youngest sequence's cache; it is recomputed (largely from the prefix
            // cache) when a slot frees up. Its sampler, grammar and emitted text stay as they are.
            size_t youngest = 0;
            for (size_t i = 1; i < running.size(); ++i)
                if (running[i]->order > running[youngest]->order) youngest = i;
            preempt(youngest);
            for (Sequence* s : batch_seqs) s->n_feeding = 0;
            build_batch();
            if (batch.n_tokens() == 0) return false;
        }
    }
}

void Engine::Impl::preempt(size_t i) {
    Sequence& s = *running[i];
    ranks->publish_prefix(s.kv_id, s.tokens, s.n_computed);
    ranks->remove_sequence(s.kv_id);
    s.kv_id = -1;
    s.n_computed = 0;
    ++totals.preemptions;
    waiting.push_front(std::move(running[i]));
    running.erase(running.begin() + ptrdiff_t(i));
}

void Engine::Impl::on_logits(Sequence& s, std::span<const float> logits) {
    if (s.done) return;  // before the grammar fills a mask for nothing
    sample::TokenMask tm;
    const sample::TokenMask* mp = nullptr;
    if (s.grammar_on) {
        s.matcher->fill_mask(mask);
        tm = sample::TokenMask::from_bits(mask);
        mp = &tm;
    }
    on_sampled(s, s.sampler->sample(logits, mp));
}

// The token sample() picked (or its failure): accept it, emit it, and finish the sequence where it ends.
void Engine::Impl::on_sampled(Sequence& s, const sample::SampleResult& r) {
    if (s.done) return;
    s.sampled_once = true;
    if (!r.ok()) {
        finish(s, FinishReason::error,
               std::string("sampling failed: ") + sample::to_string(r.status) +
                   (s.grammar_on ? " (the grammar allows no token the model can produce)" : ""));
        return;
    }
    const int32_t id = r.token_id;
    s.sampler->accept(id);
    if (tok.is_eog(id) && !s.req.ignore_eos) {
        if (s.grammar_on && !s.matcher->is_complete()) {
            finish(s, FinishReason::error, "the model ended before the JSON value was complete");
            return;
        }
        finish(s, FinishReason::stop);
        return;
    }
    TokenOut t;
    t.id = id;
    t.logprob = r.logprob;
    t.n_top = r.n_top_logprobs;
    t.top = r.top_logprobs;
    if (s.grammar_on && !s.matcher->accept(id)) {
        finish(s, FinishReason::error, "internal: the grammar rejected a token its mask allowed");
        return;
    }
    emit(s, id, t);
    if (!s.grammar_on && s.matcher && id == think_close) s.grammar_on = true;
    if (check_done(s)) return;
    if (s.grammar_on && opt.jump_forward && !s.req.sampling.logprobs) {
        append_forced(s);
        check_done(s);
    }
}

void Engine::Impl::finish_embedding(Sequence& s) {
    if (s.done) return;
    s.out.embedding = finish_pooling(s.req.pooling, s.embd_acc, s.n_prompt);
    finish(s, FinishReason::stop);
}

void Engine::Impl::emit(Sequence& s, int32_t id, const TokenOut& t) {
    s.tokens.push_back(id);
    ++s.n_generated;
    ++totals.generated_tokens;
    s.out.tokens.push_back(t);
    s.out.text += s.stops.push(s.decoder.push(id));
}

void Engine::Impl::append_forced(Sequence& s) {
    const std::string bytes = s.matcher->forced_bytes();
    if (bytes.empty()) return;
    std::vector<int32_t> ids = tok.encode(bytes, false, false);
    // The last token is left to the model: the text after the forced run may merge with it into a longer token.
    if (ids.size() <= 1) return;
    ids.pop_back();
    int room = max_ctx - 1 - int(s.tokens.size());
    if (s.req.max_tokens > 0) room = std::min(room, s.req.max_tokens - s.n_generated);
    for (const int32_t id : ids) {
        if (room-- <= 0 || id < 0 || id >= n_vocab || !s.matcher->accept(id)) break;
        TokenOut t;
        t.id = id;
        t.logprob = std::numeric_limits<float>::quiet_NaN();
        t.forced = true;
        s.sampler->accept(id);
        emit(s, id, t);
        ++totals.forced_tokens;
    }
}

bool Engine::Impl::check_done(Sequence& s) {
    if (s.done) return true;
    if (s.stops.stopped()) finish(s, FinishReason::stop);
    else if (s.grammar_on && s.matcher->is_finished()) finish(s, FinishReason::stop);
    else if (s.req.max_tokens > 0 && s.n_generated >= s.req.max_tokens) finish(s, FinishReason::length);
    else if (int(s.tokens.size()) >= max_ctx) finish(s, FinishReason::length);
    return s.done;
}

void Engine::Impl::finish(Sequence& s, FinishReason why, std::string error) {
    if (s.done) return;
    s.done = true;
    if (why == FinishReason::stop || why == FinishReason::length) {
        s.out.text += s.stops.push(s.decoder.finish());
        s.out.text += s.stops.flush();
    }
    const auto now = Clock::now();
    if (!s.got_first_token && !s.out.tokens.empty()) {
        s.got_first_token = true;
        s.t_first_token = now;
    }
    Usage& u = s.out.usage;
    u.prompt_tokens = s.n_prompt;
    u.completion_tokens = s.n_generated;
    u.cached_tokens = s.cached_tokens;
    u.queue_ms = s.admitted_once ? ms_between(s.t_submit, s.t_admit) : ms_between(s.t_submit, now);
    u.ttft_ms = s.got_first_token ? ms_between(s.t_submit, s.t_first_token) : 0.0;
    u.total_ms = ms_between(s.t_submit, now);
    s.out.finish = why;
    s.out.error = std::move(error);
    s.stream->push(std::move(s.out));
    s.out = Event{};
    if (s.kv_id >= 0) {
        ranks->publish_prefix(s.kv_id, s.tokens, s.n_computed);
        ranks->remove_sequence(s.kv_id);
        s.kv_id = -1;
    }
    if (s.sampler) spare_samplers.push_back(std::move(s.sampler));
}

void Engine::Impl::flush_events() {
    for (auto& sp : running) {
        Sequence& s = *sp;
        if (s.done || (s.out.text.empty() && s.out.tokens.empty())) continue;
        if (!s.got_first_token) {  // time to first token = when the client can first see one
            s.got_first_token = true;
            s.t_first_token = Clock::now();
        }
        s.stream->push(std::move(s.out));
        s.out = Event{};
    }
}

}  // namespace hotrod::engine
