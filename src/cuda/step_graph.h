// StepGraphs: CUDA graphs for the small steps (decode), where launching ~20 kernels a layer one by one costs more
// host time than the GPU spends running them. During a recorded step each op's launch is deferred: the op hands
// issue() a captureless launch function and the values it passes (pointers, shapes, scalars), which are appended
// to the step's argument record. At the step's end (flush) the record is looked up: the same ops with the same
// arguments replay the graph captured for them (one launch); a new record is captured once, on the stream, and
// kept. The record is compared byte for byte, never by hash alone, so a replay is exactly the launches the ops
// asked for. Values that change every step (token ids, positions, block tables, sequence lengths) live in device
// buffers the step's one upload fills, never in launch arguments, so decode steps of one shape share a graph.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>
#include <cstring>
#include <functional>
#include <type_traits>
#include <unordered_map>
#include <vector>

#include "cuda/attention.h"
#include "cuda/matmul.h"
#include "cuda/recurrent.h"

namespace hotrod::cuda {

struct StepGraphStats {
    uint64_t captures = 0;  // graphs captured (a new shape, or a scratch buffer that moved)
    uint64_t replays = 0;   // steps run as one graph launch
    uint64_t eager = 0;     // recorded steps run op by op instead (an op needed a host upload mid-step)
};

class StepGraphs {
public:
    explicit StepGraphs(bool enabled) : enabled_(enabled) {}
    ~StepGraphs();
    StepGraphs(const StepGraphs&) = delete;
    StepGraphs& operator=(const StepGraphs&) = delete;

    bool enabled() const { return enabled_; }
    // Starts a step: its ops are recorded when `graphable` (and graphs are on), else issued at once. Ops recorded
    // and never flushed (a step that failed on the host) are dropped.
    void begin(bool graphable);
    bool recording() const { return recording_; }

    // Launches fn(stream, args...) now, or records it for flush. fn must not capture anything: every value it
    // uses is an argument, so the record holds all that tells two launches apart.
    template <class Fn, class... Args>
    void issue(cudaStream_t stream, Fn fn, const Args&... args) {
        static_assert(std::is_empty_v<Fn>, "StepGraphs::issue: the launch function must capture nothing");
        if (!recording_) {
            fn(stream, args...);
            return;
        }
        put(&tag<Fn>);
        (put(args), ...);
        ops_.emplace_back([fn, args...](cudaStream_t s) { fn(s, args...); });
    }

    // Runs the recorded ops: the matching graph's replay, or a capture of them. Stops recording.
    void flush(cudaStream_t stream);
    // Runs the recorded ops one by one (no graph) and stops recording: an op must do something a graph cannot hold.
    void run_eagerly(cudaStream_t stream);
    const StepGraphStats& stats() const { return stats_; }

private:
    template <class Fn>
    static inline const char tag = 0;  // one address per launch function: which op a record entry is

    void bytes(const void* p, size_t n) {
        const size_t at = record_.size();
        record_.resize(at + n);
        std::memcpy(record_.data() + at, p, n);
    }
    template <class T>
    void put(const T& v) {
        static_assert(std::is_arithmetic_v<T> || std::is_enum_v<T> || std::is_pointer_v<T>,
                      "StepGraphs: add a put() overload naming this struct's fields (padding must not be compared)");
        bytes(&v, sizeof v);
    }
    void put(const DeviceRows& r) { put(r.data), put(r.n_rows), put(r.n_cols), put(r.stride); }
    void put(const DeviceWeight& w) { put(w.type), put(w.data), put(w.n_out), put(w.n_in), put(w.row_bytes); }
    void put(const SharedOuts& o) {
        put(o.n);
        for (int i = 0; i < o.n; ++i) put(o.w[i]), put(o.y[i]);
    }
    void put(const DeviceKvCache& c) { put(c.type), put(c.k), put(c.v), put(c.n_kv_heads), put(c.head_dim); }
    // max_kv_len is host-only (it sizes the decode split on the host; no kernel reads it), so it is not compared.
    void put(const DeviceKvLayout& l) {
        put(l.positions), put(l.token_seq), put(l.block_index), put(l.block_size),
            put(l.n_tokens);
    }
    void put(const DeviceRecurrentLayout& l) { put(l.runs), put(l.snaps), put(l.n_seqs); }
    void put(const DeltaRuleArgs& a) {
        put(a.q), put(a.q_stride), put(a.k), put(a.k_stride), put(a.v), put(a.v_stride), put(a.g), put(a.g_stride);
        put(a.beta), put(a.beta_stride), put(a.state), put(a.state_stride), put(a.out), put(a.out_stride);
        put(a.n_k_heads), put(a.n_v_heads), put(a.head_dim), put(a.scale), put(a.l2_norm), put(a.l2_eps);
        put(a.chunked_min_tokens), put(a.chunked_from_token), put(a.launch_recurrent), put(a.launch_chunked);
    }
    void put(const AttentionInputsArgs& a) {
        put(a.q), put(a.q_stride), put(a.k), put(a.k_stride), put(a.v), put(a.v_stride), put(a.q_norm), put(a.k_norm);
        put(a.eps), put(a.n_heads), put(a.head_dim), put(a.n_dims), put(a.neox), put(a.rope_table), put(a.cache);
        put(a.layout);
    }
    void put(const Attention::Plan& p) {
        put(p.n_splits), put(p.scratch), put(p.prefill_splits), put(p.decode_tokens), put(p.split_cap),
            put(p.prefill_span);
    }
    void put(const AttentionShape& s) {
        put(s.n_heads), put(s.n_kv_heads), put(s.head_dim), put(s.scale), put(s.window), put(s.softcap);
    }

    struct Entry {
        std::vector<uint8_t> record;
        cudaGraphExec_t exec = nullptr;
        uint64_t last_used = 0;
    };
    void evict_oldest();

    bool enabled_;
    bool recording_ = false;
    std::vector<uint8_t> record_;
    std::vector<std::function<void(cudaStream_t)>> ops_;
    std::unordered_multimap<uint64_t, Entry> graphs_;  // by the record's hash; entries compared in full
    uint64_t clock_ = 0;
    StepGraphStats stats_;
};

}  // namespace hotrod::cuda
