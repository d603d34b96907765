// StepGraphs: record, look up, capture, replay (see step_graph.h).
#include "cuda/step_graph.h"

#include <stdexcept>
#include <string_view>

#include "cuda/check.h"

namespace hotrod::cuda {

namespace {

// Graphs kept: decode steps of each row count up to a server's slots, times the few attention split counts a
// context passes through (the block tables' width is no launch argument), fit easily; beyond this the least recently used goes (each holds some hundreds of kernel nodes).
constexpr size_t kMaxGraphs = 64;

uint64_t hash_bytes(const std::vector<uint8_t>& b) {
    return std::hash<std::string_view>{}(std::string_view(reinterpret_cast<const char*>(b.data()), b.size()));
}

}  // namespace

StepGraphs::~StepGraphs() {
    for (auto& [key, e] : graphs_) cudaGraphExecDestroy(e.exec);  // nothing to report a failure to
}

void StepGraphs::begin(bool graphable) {
    ops_.clear();
    record_.clear();
    recording_ = enabled_ && graphable;
}

void StepGraphs::run_eagerly(cudaStream_t stream) {
    recording_ = false;
    auto ops = std::move(ops_);
    ops_.clear();
    record_.clear();
    if (!ops.empty()) ++stats_.eager;
    for (auto& op : ops) op(stream);
}

void StepGraphs::evict_oldest() {
    auto oldest = graphs_.begin();
    for (auto it = graphs_.begin(); it != graphs_.end(); ++it)
        if (it->second.last_used < oldest->second.last_used) oldest = it;
    cudaGraphExecDestroy(oldest->second.exec);
    graphs_.erase(oldest);
}

void StepGraphs::flush(cudaStream_t stream) {
    if (!recording_) return;
    recording_ = false;
    if (ops_.empty()) return;
    const uint64_t key = hash_bytes(record_);
    auto [first, last] = graphs_.equal_range(key);
    for (auto it = first; it != last; ++it) {
        if (it->second.record == record_) {
            it->second.last_used = ++clock_;
            ops_.clear();
            record_.clear();
            ++stats_.replays;
            HOTROD_CUDA_CHECK(cudaGraphLaunch(it->second.exec, stream));
            return;
        }
    }
    // A new record: capture its launches (they run only when the graph is launched below).
    auto ops = std::move(ops_);
    ops_.clear();
    HOTROD_CUDA_CHECK(cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal));
    cudaGraph_t graph = nullptr;
    try {
        for (auto& op : ops) op(stream);
    } catch (...) {
        cudaStreamEndCapture(stream, &graph);  // ends the capture whatever failed; the partial graph is dropped
        if (graph) cudaGraphDestroy(graph);
        cudaGetLastError();
        record_.clear();
        throw;
    }
    HOTROD_CUDA_CHECK(cudaStreamEndCapture(stream, &graph));
    cudaGraphExec_t exec = nullptr;
    const cudaError_t e = cudaGraphInstantiate(&exec, graph, 0);
    cudaGraphDestroy(graph);
    HOTROD_CUDA_CHECK(e);
    if (graphs_.size() >= kMaxGraphs) evict_oldest();
    Entry entry;
    entry.record = std::move(record_);
    entry.exec = exec;
    entry.last_used = ++clock_;
    graphs_.emplace(key, std::move(entry));
    record_.clear();
    ++stats_.captures;
    HOTROD_CUDA_CHECK(cudaGraphLaunch(exec, stream));
}

}  // namespace hotrod::cuda
