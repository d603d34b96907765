#include "engine/ranks.h"

#include <stdexcept>
#include <string>

namespace hotrod::engine {

Ranks::Ranks(std::span<model::Model* const> models, const model::KvOptions& ko) : models_(models.begin(), models.end()) {
    if (models_.empty()) throw std::invalid_argument("engine: no model");
    for (model::Model* m : models_) kvs_.push_back(std::make_unique<model::KvCache>(m->backend(), m->config(), ko));
    errors_.resize(models_.size());
    for (int r = 1; r < size(); ++r) workers_.emplace_back([this, r] { work(r); });
}

Ranks::~Ranks() {
    {
        std::lock_guard lock(mu_);
        stop_ = true;
    }
    start_.notify_all();
    for (std::thread& t : workers_) t.join();
}

namespace {

// The same answer from every rank's cache, or a logic_error naming the operation.
template <class T>
T same_on_every_rank(const std::vector<T>& got, const char* what) {
    for (size_t r = 1; r < got.size(); ++r)
        if (got[r] != got[0])
            throw std::logic_error(std::string("engine: tensor-parallel KV caches disagree on ") + what + " (rank " +
                                   std::to_string(r) + ")");
    return got[0];
}

}  // namespace

int32_t Ranks::add_sequence() {
    std::vector<int32_t> ids;
    for (auto& kv : kvs_) ids.push_back(kv->add_sequence());
    return same_on_every_rank(ids, "a new sequence's id");
}

void Ranks::remove_sequence(int32_t seq_id) {
    for (auto& kv : kvs_) kv->remove_sequence(seq_id);
}

int Ranks::match_prefix(int32_t seq_id, std::span<const int32_t> tokens) {
    std::vector<int> matched;
    for (auto& kv : kvs_) matched.push_back(kv->match_prefix(seq_id, tokens));
    return same_on_every_rank(matched, "a prefix match");
}

void Ranks::publish_prefix(int32_t seq_id, std::span<const int32_t> tokens, int n_computed) {
    for (auto& kv : kvs_) kv->publish_prefix(seq_id, tokens, n_computed);
}

void Ranks::forward(const model::Batch& batch) {
    if (size() == 1) {
        models_[0]->forward(batch, *kvs_[0]);
        return;
    }
    {
        std::lock_guard lock(mu_);
        batch_ = &batch;
        pending_ = size() - 1;
        for (auto& e : errors_) e = nullptr;
        ++step_;
    }
    start_.notify_all();
    try {
        models_[0]->forward(batch, *kvs_[0]);
    } catch (...) {
        errors_[0] = std::current_exception();
    }
    std::unique_lock lock(mu_);
    done_.wait(lock, [&] { return pending_ == 0; });
    batch_ = nullptr;
    for (const auto& e : errors_)
        if (e) std::rethrow_exception(e);
}

void Ranks::work(int rank) {
    uint64_t seen = 0;
    for (;;) {
        const model::Batch* batch = nullptr;
        {
            std::unique_lock lock(mu_);
            start_.wait(lock, [&] { return stop_ || step_ != seen; });
            if (stop_) return;
            seen = step_;
            batch = batch_;
        }
        std::exception_ptr error;
        try {
            models_[size_t(rank)]->forward(*batch, *kvs_[size_t(rank)]);
        } catch (...) {
            error = std::current_exception();
        }
        {
            std::lock_guard lock(mu_);
            errors_[size_t(rank)] = error;
            --pending_;
        }
        done_.notify_one();
    }
}

}  // namespace hotrod::engine
