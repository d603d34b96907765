// Sampler: prepare (mask, penalties, bias) -> select (greedy, or top-k / top-p / min-p survivors) -> one
// draw -> log-probabilities. No stage sorts the whole vocabulary: top-k streams through a k-entry heap, min-p
// is a threshold, and top-p gathers only the tokens above a probability floor it can prove sufficient.
#include "sample/sampler.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <stdexcept>

namespace hotrod::sample {

namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

uint64_t seed_from(const SamplingParams& params) {
    if (params.seed) return *params.seed;
    std::random_device device;
    return (static_cast<uint64_t>(device()) << 32) ^ device();
}

float clean(float x) { return std::isnan(x) ? kNegInf : x; }

}  // namespace

const char* to_string(SampleStatus status) {
    switch (status) {
        case SampleStatus::ok: return "ok";
        case SampleStatus::no_candidates: return "every token is banned: no candidate left to sample";
        case SampleStatus::bad_logits: return "logits row length differs from the vocabulary size";
        case SampleStatus::bad_mask: return "constraint mask does not cover the vocabulary or names an unknown id";
    }
    return "unknown";
}

double log_normalizer(std::span<const float> logits) {
    const float max = max_value(logits.data(), logits.size());
    if (max == kNegInf || max == std::numeric_limits<float>::infinity()) return max;
    return max + std::log(exp_weights(logits.data(), logits.size(), max, 1.0f, nullptr));
}

Sampler::Sampler(int32_t n_vocab, const SamplingParams& params)
    : n_vocab_(n_vocab), history_(std::max(n_vocab, 1)) {
    if (std::string error = validate(params, n_vocab); !error.empty()) throw std::invalid_argument(error);
    work_.resize(n_vocab);
    weights_.resize(n_vocab);
    block_totals_.resize((n_vocab + kSumBlock - 1) / kSumBlock);
    candidates_.resize(n_vocab);
    reset(params);
}

void Sampler::reset(const SamplingParams& params) {
    if (std::string error = validate(params, n_vocab_); !error.empty()) throw std::invalid_argument(error);
    params_ = params;
    bias_.assign(params.logit_bias.begin(), params.logit_bias.end());
    std::sort(bias_.begin(), bias_.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    size_t n_merged = 0;
    for (const auto& entry : bias_) {
        if (n_merged > 0 && bias_[n_merged - 1].first == entry.first) bias_[n_merged - 1].second += entry.second;
        else bias_[n_merged++] = entry;
    }
    bias_.resize(n_merged);
    rng_.seed(seed_from(params));
    history_.reset(params.repeat_last_n);
}

void Sampler::accept_prompt(std::span<const int32_t> token_ids) {
    for (const int32_t id : token_ids) history_.add(id, false);
}

void Sampler::accept(int32_t token_id) { history_.add(token_id, true); }

bool Sampler::picks_raw_argmax() const {
    return params_.greedy() && !window_penalty() && !count_penalty() && bias_.empty() && !params_.logprobs;
}

// Returns the row the later stages read: the caller's logits untouched when no stage changes them, else
// work_ with the mask, penalties and bias applied (NaN already -inf there).
const float* Sampler::prepare(std::span<const float> logits, const TokenMask* mask, SampleStatus& status) {
    const bool window = window_penalty();
    const bool penalties = !history_.empty() && (window || count_penalty());
    if (!mask && !penalties && bias_.empty()) return logits.data();

    const float* raw = logits.data();
    float* work = work_.data();
    const size_t n = logits.size();
    if (!mask) {
        for (size_t i = 0; i < n; ++i) work[i] = raw[i] == raw[i] ? raw[i] : kNegInf;
    } else if (mask->kind == TokenMask::Kind::bits) {
        if (mask->bits.size() * 64 < n) {
            status = SampleStatus::bad_mask;
            return nullptr;
        }
        const uint64_t* bits = mask->bits.data();
        for (size_t i = 0; i < n; ++i) {
            const bool allowed = (bits[i / 64] >> (i % 64)) & 1u;
            work[i] = allowed && raw[i] == raw[i] ? raw[i] : kNegInf;
        }
    } else {
        std::fill(work, work + n, kNegInf);
        for (const int32_t id : mask->ids) {
            if (id < 0 || id >= n_vocab_) {
                status = SampleStatus::bad_mask;
                return nullptr;
            }
            work[id] = clean(raw[id]);
        }
    }
    if (penalties) {
        const float rep = window ? params_.repetition_penalty : 1.0f;
        const float presence = params_.presence_penalty, frequency = params_.frequency_penalty;
        // Computed from the raw logit, not work[id], so the result does not depend on visiting order.
        history_.for_each([&](int32_t id, uint32_t n_window, uint32_t n_generated) {
            if (work[id] == kNegInf) return;  // banned by the mask or by the model
            float x = raw[id];
            if (n_window > 0) x = x > 0.0f ? x / rep : x * rep;
            if (n_generated > 0) x -= presence + frequency * static_cast<float>(n_generated);
            work[id] = x;
        });
    }
    for (const auto& [id, bias] : bias_) {
        if (work[id] == kNegInf) continue;
        work[id] = bias <= kBanBias ? kNegInf : work[id] + bias;
    }
    return work;
}

Sampler::Selection Sampler::select(std::span<const float> logits, const TokenMask* mask) {
    Selection sel;
    if (logits.size() != static_cast<size_t>(n_vocab_)) {
        sel.status = SampleStatus::bad_logits;
        return sel;
    }
    const float* src = prepare(logits, mask, sel.status);
    if (!src) return sel;
    sel.logits = src;
    const size_t n = logits.size();
    float max = max_value(src, n);
    if (max == kNegInf) {
        sel.status = SampleStatus::no_candidates;
        return sel;
    }
    const float inv_t = 1.0f / params_.temperature;
    if (params_.greedy() || !std::isfinite(inv_t)) {  // a temperature so small 1/T overflows is greedy in the limit
        sel.greedy_id = static_cast<int32_t>(first_index_of(src, n, max));
        return sel;
    }
    if (max == std::numeric_limits<float>::infinity()) {
        // softmax's limit: the +inf tokens share all the mass. Clamping them to FLT_MAX gives exactly that.
        for (size_t i = 0; i < n; ++i) work_[i] = std::min(clean(src[i]), FLT_MAX);
        src = work_.data();
        max = FLT_MAX;
    }
    Selection chosen;
    const bool top_k = params_.top_k > 0 && static_cast<size_t>(params_.top_k) < n;
    if (top_k) {
        chosen = select_top_k(src, max, inv_t);
    } else if (params_.top_p < 1.0f) {
        chosen = select_top_p(src, max, inv_t);
    } else if (params_.min_p > 0.0f) {
        chosen = select_min_p(src, max, inv_t);
    } else {
        chosen.total = exp_weights(src, n, max, inv_t, weights_.data(), block_totals_.data());
        chosen.dense_weights = weights_.data();
    }
    chosen.logits = src;
    return chosen;
}

// Cuts candidates sorted most likely first (weights relative to the top token, which has weight 1) to the
// top-p prefix of mass `total`, then to min-p. Returns the number kept, at least 1.
size_t Sampler::truncate_sorted(Candidate* c, size_t n, double total) const {
    size_t keep = n;
    if (params_.top_p < 1.0f) {
        const double target = static_cast<double>(params_.top_p) * total;
        double cum = 0.0;
        for (size_t i = 0; i < n; ++i) {
            cum += c[i].weight;
            if (cum >= target) {
                keep = i + 1;
                break;
            }
        }
    }
    if (params_.min_p > 0.0f)
        while (keep > 1 && c[keep - 1].weight < params_.min_p) --keep;
    return keep;
}

Sampler::Selection Sampler::select_top_k(const float* src, float max, float inv_t) {
    Selection sel;
    Candidate* c = candidates_.data();
    size_t n = sample::select_top_k(src, weights_.size(), static_cast<size_t>(params_.top_k), c);
    double total = 0.0;
    for (size_t i = 0; i < n; ++i) total += c[i].weight = exp_nonpos((c[i].logit - max) * inv_t);
    n = truncate_sorted(c, n, total);
    sel.candidates = c;
    sel.n_candidates = n;
    sel.total = 0.0;
    for (size_t i = 0; i < n; ++i) sel.total += c[i].weight;
    return sel;
}

// Top-p without sorting the vocabulary. Every token of the top-p prefix has probability >= (1 - p) / n: were
// the last one lower, all tokens from it on would be lower too, their mass below (1 - p), so the prefix before
// it would already hold more than p. Gathering the tokens above a probability floor therefore finds the whole
// prefix once the gathered mass reaches p; floors of 1e-3 and 1e-5 usually do it with a few hundred tokens,
// the proven floor always does (halved against rounding), and a floor of 0 (the whole row) is the last resort.
Sampler::Selection Sampler::select_top_p(const float* src, float max, float inv_t) {
    Selection sel;
    const size_t n = weights_.size();
    const double total = exp_weights(src, n, max, inv_t, weights_.data());
    const double target = static_cast<double>(params_.top_p) * total;
    const double proven = 0.5 * (1.0 - params_.top_p) / static_cast<double>(n);
    const double floors[] = {1e-3, 1e-5, proven, 0.0};
    Candidate* c = candidates_.data();
    size_t n_c = 0;
    for (const double floor : floors) {
        // Weights are relative to the top token (weight 1), so min-p is a weight floor too.
        const float threshold = std::max({static_cast<float>(floor * total), params_.min_p, FLT_TRUE_MIN});
        n_c = gather_at_least(weights_.data(), n, threshold, src, true, c);
        double mass = 0.0;
        for (size_t i = 0; i < n_c; ++i) mass += c[i].weight;
        if (mass >= target || threshold <= std::max(params_.min_p, FLT_TRUE_MIN)) break;
    }
    // The prefix is measured against the whole row's mass (target), not the gathered mass; min-p is already
    // in the gather threshold. The survivors stay unsorted: the draw does not need an order.
    n_c = select_mass_prefix(c, n_c, target);
    sel.candidates = c;
    sel.n_candidates = n_c;
    for (size_t i = 0; i < n_c; ++i) sel.total += c[i].weight;
    return sel;
}

// Min-p alone: a threshold on the logit, so no exp over the vocabulary. The gather is a little wider than the
// exact cut (0.01 in log space) and the exact cut, on the weight as in every other stage, is made after.
Sampler::Selection Sampler::select_min_p(const float* src, float max, float inv_t) {
    Selection sel;
    const float loose = max + (std::log(params_.min_p) - 0.01f) / inv_t;
    Candidate* c = candidates_.data();
    const size_t n_gathered = gather_at_least(src, weights_.size(), loose, src, false, c);
    size_t n_c = 0;
    for (size_t i = 0; i < n_gathered; ++i) {
        const float w = exp_nonpos((c[i].logit - max) * inv_t);
        if (w >= params_.min_p || c[i].logit == max) c[n_c++] = Candidate{c[i].id, c[i].logit, w};
    }
    sel.candidates = c;
    sel.n_candidates = n_c;
    for (size_t i = 0; i < n_c; ++i) sel.total += c[i].weight;
    return sel;
}

// One uniform u in [0, 1) from the top 53 bits; the first survivor whose running sum passes u * total wins.
// Rounding can leave the sum short of the target; then the last survivor with weight wins.
int32_t Sampler::draw(const Selection& sel) {
    const double u = static_cast<double>(rng_() >> 11) * 0x1.0p-53;
    const double target = u * sel.total;
    double cum = 0.0;
    int32_t last = -1;
    if (sel.dense_weights) {
        // Find the block by its total, then the token inside it (blocks with nothing left are never entered).
        size_t block = 0;
        const size_t n_blocks = block_totals_.size();
        while (block + 1 < n_blocks && (block_totals_[block] <= 0.0 || cum + block_totals_[block] <= target))
            cum += block_totals_[block++];
        const size_t end = std::min(weights_.size(), (block + 1) * kSumBlock);
        for (size_t i = block * kSumBlock; i < end; ++i) {
            const float w = sel.dense_weights[i];
            if (w <= 0.0f) continue;
            cum += w;
            last = static_cast<int32_t>(i);
            if (cum > target) return last;
        }
        for (size_t i = end; last < 0 && i-- > 0;)  // rounding walked past every weight: take the last one
            if (sel.dense_weights[i] > 0.0f) last = static_cast<int32_t>(i);
        return last;
    }
    for (size_t i = 0; i < sel.n_candidates; ++i) {
        if (sel.candidates[i].weight <= 0.0f) continue;
        cum += sel.candidates[i].weight;
        last = sel.candidates[i].id;
        if (cum > target) return last;
    }
    return last;
}

void Sampler::fill_logprobs(std::span<const float> logits, SampleResult& result) {
    const float* raw = logits.data();
    const double lse = log_normalizer(logits);
    double n_inf = 0.0;
    if (lse == std::numeric_limits<double>::infinity())
        for (const float x : logits) n_inf += x == std::numeric_limits<float>::infinity();
    auto logprob = [&](float x) -> float {
        if (std::isnan(x) || x == kNegInf) return kNegInf;
        if (n_inf > 0.0) return x == std::numeric_limits<float>::infinity() ? -std::log(n_inf) : kNegInf;
        return static_cast<float>(x - lse);
    };
    result.logprob = logprob(raw[result.token_id]);
    const size_t n_top = static_cast<size_t>(params_.n_top_logprobs);
    const size_t found = sample::select_top_k(raw, logits.size(), n_top, candidates_.data());
    for (size_t i = 0; i < found; ++i)
        result.top_logprobs[i] = TokenLogprob{candidates_[i].id, logprob(candidates_[i].logit)};
    result.n_top_logprobs = static_cast<int32_t>(found);
}

SampleResult Sampler::sample(std::span<const float> logits, const TokenMask* mask) {
    SampleResult result;
    const Selection sel = select(logits, mask);
    result.status = sel.status;
    if (sel.status != SampleStatus::ok) return result;
    result.token_id = sel.greedy_id >= 0 ? sel.greedy_id : draw(sel);
    if (result.token_id < 0) {
        result.status = SampleStatus::no_candidates;
        return result;
    }
    if (params_.logprobs) fill_logprobs(logits, result);
    return result;
}

std::span<const Candidate> Sampler::distribution(std::span<const float> logits, const TokenMask* mask) {
    const Selection sel = select(logits, mask);
    if (sel.status != SampleStatus::ok) return {};
    Candidate* c = candidates_.data();
    size_t n_c = 0;
    if (sel.greedy_id >= 0) {
        c[0] = Candidate{sel.greedy_id, sel.logits[sel.greedy_id], 1.0f};
        return {c, 1};
    }
    if (sel.dense_weights) {
        for (size_t i = 0; i < weights_.size(); ++i)
            if (sel.dense_weights[i] > 0.0f)
                c[n_c++] = Candidate{static_cast<int32_t>(i), sel.logits[i], sel.dense_weights[i]};
    } else {
        n_c = sel.n_candidates;  // already in candidates_
    }
    sort_candidates(c, n_c);
    for (size_t i = 0; i < n_c; ++i) c[i].weight = static_cast<float>(c[i].weight / sel.total);
    return {c, n_c};
}

}  // namespace hotrod::sample
