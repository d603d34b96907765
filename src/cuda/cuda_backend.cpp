// CudaBackend: device choice and checks, memory (weights uploaded once through pinned staging, buffers, the
// budget left for the KV cache) and the step's index arrays. The ops are in cuda_backend_ops.cpp.
#include "cuda/cuda_backend.h"

#include <cuda_runtime.h>

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

#include "cuda/backend_checks.h"
#include "cuda/check.h"
#include "cuda/ops.h"
#include "cuda/switches.h"
#include "quant/blocks.h"
#include "quant/types.h"

namespace hotrod::cuda {

using backend::TensorView;
using quant::DType;
using namespace backend_detail;

namespace {

constexpr size_t kMiB = size_t(1) << 20;
// Room kept beyond (1 - mem_fraction) of the card for scratch that grows on first use (attention splits).
constexpr size_t kScratchSlack = 512 * kMiB;
constexpr size_t kStagingBytes = 32 * kMiB;  // each of the two pinned upload buffers

std::string gib(size_t bytes) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.2f GiB", double(bytes) / double(size_t(1) << 30));
    return buf;
}

class DeviceBuffer final : public backend::Buffer {
public:
    explicit DeviceBuffer(size_t bytes) : bytes_(bytes) {
        const cudaError_t e = cudaMalloc(&data_, std::max<size_t>(bytes, 1));
        if (e != cudaSuccess) {
            size_t free_b = 0, total_b = 0;
            cudaGetLastError();
            cudaMemGetInfo(&free_b, &total_b);
            throw CudaError("GPU out of memory: " + std::to_string(bytes) + " bytes (" + gib(bytes) + ") needed, " +
                                gib(free_b) + " free of " + gib(total_b),
                            e);
        }
    }
    ~DeviceBuffer() override { cudaFree(data_); }
    void* data() override { return data_; }
    size_t bytes() const override { return bytes_; }

private:
    size_t bytes_;
    void* data_ = nullptr;
};

class PinnedBuffer final : public backend::Buffer {
public:
    explicit PinnedBuffer(size_t bytes) : bytes_(bytes) {
        HOTROD_CUDA_CHECK(cudaMallocHost(&data_, std::max<size_t>(bytes, 1)));
    }
    ~PinnedBuffer() override { cudaFreeHost(data_); }
    void* data() override { return data_; }
    size_t bytes() const override { return bytes_; }

private:
    size_t bytes_;
    void* data_ = nullptr;
};

}  // namespace

std::string describe_gpus() {
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess) {
        cudaGetLastError();
        return "";
    }
    std::string out;
    for (int i = 0; i < n; ++i) {
        cudaDeviceProp p{};
        if (cudaGetDeviceProperties(&p, i) != cudaSuccess) continue;
        if (!out.empty()) out += "; ";
        out += "cuda:" + std::to_string(i) + " " + p.name + ", compute " + std::to_string(p.major) + "." +
               std::to_string(p.minor) + ", " + gib(p.totalGlobalMem);
    }
    return out;
}

bool gpu_usable(int index, std::string* why) {
    int driver = 0;
    cudaDriverGetVersion(&driver);
    int n = 0;
    const cudaError_t e = cudaGetDeviceCount(&n);
    cudaGetLastError();
    auto no = [&](const std::string& reason) {
        if (why) *why = reason;
        return false;
    };
    if (driver == 0) return no("no NVIDIA driver found (libcuda.so): no usable GPU on this machine");
    if (e == cudaErrorInsufficientDriver || driver < CUDART_VERSION)
        return no("the NVIDIA driver supports CUDA " + std::to_string(driver / 1000) + "." +
                  std::to_string(driver % 1000 / 10) + ", this hotrod was built with CUDA " +
                  std::to_string(CUDART_VERSION / 1000) + "." + std::to_string(CUDART_VERSION % 1000 / 10) +
                  ": update the driver");
    if (e == cudaErrorNoDevice || (e == cudaSuccess && n == 0)) return no("no CUDA GPU found");
    if (e != cudaSuccess) return no(std::string("CUDA cannot start: ") + cudaGetErrorString(e));
    if (index >= n) return no("GPU " + std::to_string(index) + " requested, " + std::to_string(n) + " present");
    cudaDeviceProp p{};
    if (cudaGetDeviceProperties(&p, index) != cudaSuccess) return no("cannot read the properties of GPU " + std::to_string(index));
    // The build carries machine code for 8.0 / 8.6 / 8.9 / 9.0a and PTX for 9.0+ (HOTROD_CUDA_ARCHS).
    if (p.major < 8)
        return no(std::string(p.name) + " has compute capability " + std::to_string(p.major) + "." +
                  std::to_string(p.minor) + "; hotrod's kernels need 8.0 or newer (Ampere, Ada, Hopper, ...)");
    return true;
}

namespace {
bool graphs_wanted(const CudaOptions& opt) { return opt.graphs && !switch_off("HOTROD_CUDA_GRAPHS"); }
}  // namespace

CudaBackend::CudaBackend(const CudaOptions& opt) : opt_(opt), graphs_(graphs_wanted(opt)) {
    std::string why;
    if (!gpu_usable(opt.device, &why)) throw std::runtime_error("cuda:" + std::to_string(opt.device) + ": " + why);
    HOTROD_CUDA_CHECK(cudaSetDevice(opt.device));
    HOTROD_CUDA_CHECK(cudaGetDeviceProperties(&prop_, opt.device));
    HOTROD_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
    reserve_bytes_ = size_t((1.0 - std::clamp(opt.mem_fraction, 0.0, 1.0)) * double(prop_.totalGlobalMem)) + kScratchSlack;
    fuse_ = opt.fuse && !switch_off("HOTROD_CUDA_FUSE");
    rope_table_ = !switch_off("HOTROD_CUDA_ROPE_TABLE");
    fuse_attention_inputs_ = fuse_ && rope_table_ && !switch_off("HOTROD_CUDA_FUSE_ATTN");
    fuse_residual_ = fuse_ && !switch_off("HOTROD_CUDA_FUSE_RESIDUAL");
    fuse_attention_quant_ = fuse_ && !switch_off("HOTROD_CUDA_FUSE_ATTN_QUANT");
    invariant_ = !switch_off("HOTROD_CUDA_BATCH_INVARIANT");
}

CudaBackend::~CudaBackend() {
    if (stream_) cudaStreamSynchronize(stream_);
    free_staging();
    for (void* p : weight_blocks_) cudaFree(p);
    cudaFreeHost(index_host_);
    cudaFree(index_dev_);
    cudaFree(adhoc_dev_);
    cudaFree(argmax_dev_);
    cudaFreeHost(argmax_host_);
    if (stream_) cudaStreamDestroy(stream_);
}

std::string CudaBackend::name() const {
    return "cuda:" + std::to_string(opt_.device) + " (" + prop_.name + ", compute " + std::to_string(prop_.major) + "." +
           std::to_string(prop_.minor) + ", " + gib(prop_.totalGlobalMem) + ")";
}

size_t CudaBackend::memory_free() const {
    size_t free_b = 0, total_b = 0;
    HOTROD_CUDA_CHECK(cudaMemGetInfo(&free_b, &total_b));
    return free_b > reserve_bytes_ ? free_b - reserve_bytes_ : 0;
}

std::unique_ptr<backend::Buffer> CudaBackend::alloc(size_t bytes) { return std::make_unique<DeviceBuffer>(bytes); }

std::unique_ptr<backend::Buffer> CudaBackend::alloc_host(size_t bytes) { return std::make_unique<PinnedBuffer>(bytes); }

TensorView CudaBackend::weight(const TensorView& host) {
    if (!matmul_supports(host.type))  // F32 (norms) included
        fail("weight", "type " + std::string(quant::type_name(host.type)) + " has no CUDA kernels");
    const size_t bytes = size_t(host.n_rows) * host.row_bytes;
    void* dev = nullptr;
    {
        const cudaError_t e = cudaMalloc(&dev, std::max<size_t>(bytes, 1));
        if (e != cudaSuccess) {
            cudaGetLastError();
            size_t free_b = 0, total_b = 0;
            cudaMemGetInfo(&free_b, &total_b);
            throw CudaError("the model does not fit on " + std::string(prop_.name) + ": " + gib(weight_bytes_ + bytes) +
                                " of weights uploaded so far, " + gib(free_b) + " free of " + gib(total_b),
                            e);
        }
    }
    weight_blocks_.push_back(dev);
    weight_bytes_ += bytes;
    // Through two pinned buffers: the copy of one chunk overlaps the host's read of the next from the mmap.
    if (!staging_[0]) {
        for (int b = 0; b < 2; ++b) {
            HOTROD_CUDA_CHECK(cudaMallocHost(&staging_[b], kStagingBytes));
            HOTROD_CUDA_CHECK(cudaEventCreateWithFlags(&staged_[b], cudaEventDisableTiming));
        }
    }
    void* const* staging = staging_;
    cudaEvent_t* done = staged_;
    const char* src = static_cast<const char*>(host.data);
    for (size_t off = 0, i = 0; off < bytes; off += kStagingBytes, ++i) {
        const size_t n = std::min(kStagingBytes, bytes - off);
        const int b = int(i % 2);
        if (i >= 2) HOTROD_CUDA_CHECK(cudaEventSynchronize(done[b]));
        std::memcpy(staging[b], src + off, n);
        HOTROD_CUDA_CHECK(cudaMemcpyAsync(static_cast<char*>(dev) + off, staging[b], n, cudaMemcpyHostToDevice, stream_));
        HOTROD_CUDA_CHECK(cudaEventRecord(done[b], stream_));
    }
    HOTROD_CUDA_CHECK(cudaStreamSynchronize(stream_));
    TensorView v = host;
    v.data = dev;
    return v;
}

void CudaBackend::free_staging() {
    cudaStreamSynchronize(stream_);  // (no throw: the destructor calls this)
    for (int b = 0; b < 2; ++b) {
        if (staged_[b]) cudaEventDestroy(staged_[b]);
        if (staging_[b]) cudaFreeHost(staging_[b]);
        staged_[b] = nullptr;
        staging_[b] = nullptr;
    }
}

void CudaBackend::reserve_workspace(int64_t max_tokens, int64_t max_width) {
    free_staging();  // called at the end of a model's load: no more weights come
    matmul_.reserve(max_tokens, max_width);
}

void CudaBackend::to_host(const TensorView& t, void* dst) {
    graphs_.flush(stream_);
    const size_t packed = quant::row_bytes(t.type, t.n_cols).value_or(0);
    if (t.n_rows > 0)
        HOTROD_CUDA_CHECK(cudaMemcpy2DAsync(dst, packed, t.data, t.row_bytes, packed, size_t(t.n_rows),
                                            cudaMemcpyDeviceToHost, stream_));
    HOTROD_CUDA_CHECK(cudaStreamSynchronize(stream_));
}

// The arg-max kernel, then the one copy of the step: 4 bytes a row into pinned memory.
void CudaBackend::argmax_rows(const TensorView& x, int32_t* ids) {
    check_f32("argmax_rows", "x", x, x.n_rows, x.n_cols);
    graphs_.flush(stream_);
    if (x.n_rows <= 0) {
        sync();
        return;
    }
    if (size_t(x.n_rows) > argmax_capacity_) {
        HOTROD_CUDA_CHECK(cudaStreamSynchronize(stream_));  // no earlier copy still reads the old buffers
        cudaFree(argmax_dev_);
        cudaFreeHost(argmax_host_);
        argmax_dev_ = nullptr;
        argmax_host_ = nullptr;
        argmax_capacity_ = 0;
        HOTROD_CUDA_CHECK(cudaMalloc(&argmax_dev_, size_t(x.n_rows) * sizeof(int32_t)));
        HOTROD_CUDA_CHECK(cudaMallocHost(&argmax_host_, size_t(x.n_rows) * sizeof(int32_t)));
        argmax_capacity_ = size_t(x.n_rows);
    }
    cuda::argmax_rows(x.f32(), stride_of(x), x.n_rows, x.n_cols, argmax_dev_, stream_);
    HOTROD_CUDA_CHECK(cudaMemcpyAsync(argmax_host_, argmax_dev_, size_t(x.n_rows) * sizeof(int32_t),
                                      cudaMemcpyDeviceToHost, stream_));
    HOTROD_CUDA_CHECK(cudaStreamSynchronize(stream_));
    std::memcpy(ids, argmax_host_, size_t(x.n_rows) * sizeof(int32_t));
}

void CudaBackend::counters(std::vector<backend::BackendCounter>& out) const {
    const StepGraphStats& g = graphs_.stats();
    out.push_back({"cuda_graphs_captured", "Decode steps captured as a new CUDA graph (a new shape).", g.captures});
    out.push_back({"cuda_graphs_replayed", "Decode steps run as a replay of a captured CUDA graph.", g.replays});
    out.push_back({"cuda_graph_steps_eager", "Recorded decode steps run op by op instead (a scratch grew).", g.eager});
}

bool CudaBackend::prefers_argmax_rows() const {
    static const bool on = switch_is("HOTROD_CUDA_ARGMAX", "1");
    return on;
}

void CudaBackend::sync() {
    graphs_.flush(stream_);
    ++generation_;
    HOTROD_CUDA_CHECK(cudaStreamSynchronize(stream_));
}

// --- index arrays -----------------------------------------------------------------------------------------------

CudaBackend::Packed CudaBackend::pack(const backend::StepIndex& s, std::vector<int32_t>& buf,
                                      std::span<const int32_t> before_blocks) {
    const backend::KvLayout& L = s.layout;
    const size_t n = L.positions.size(), n_seqs = L.block_tables.size();
    // Blocks each sequence needs: up to its last token's position (tokens of a sequence are in position order).
    int max_kv_len = 0;
    std::vector<int>& need = blocks_needed_;
    need.assign(n_seqs, 0);
    if (L.block_size > 0 && L.token_seq.size() == n) {
        for (size_t t = 0; t < n; ++t) {
            const int32_t seq = L.token_seq[t], pos = L.positions[t];
            if (seq < 0 || size_t(seq) >= n_seqs || pos < 0) continue;  // Model::check_batch has refused these
            need[size_t(seq)] = std::max(need[size_t(seq)], pos / L.block_size + 1);
            max_kv_len = std::max(max_kv_len, pos + 1);
        }
    }
    Packed p;
    buf.clear();
    auto put = [&](const int32_t* src, size_t count) {
        const size_t at = buf.size();
        buf.insert(buf.end(), src, src + count);
        return at;
    };
    p.tokens = put(s.tokens.data(), s.tokens.size());
    p.logit_rows = put(s.logit_rows.data(), s.logit_rows.size());
    p.positions = put(L.positions.data(), n);
    p.token_seq = put(L.token_seq.data(), L.token_seq.size());
    p.before_blocks = put(before_blocks.data(), before_blocks.size());
    // The block index last: its length grows with the sequences, and nothing after it would keep its place.
    p.block_index = buf.size();
    buf.resize(buf.size() + n_seqs, 0);
    for (size_t q = 0; q < n_seqs; ++q) {
        buf[p.block_index + q] = int32_t(buf.size() - p.block_index);
        if (L.block_tables[q] && need[q] > 0) buf.insert(buf.end(), L.block_tables[q], L.block_tables[q] + need[q]);
    }
    p.layout.block_size = L.block_size;
    p.layout.n_tokens = int(n);
    p.layout.max_kv_len = max_kv_len;
    return p;
}

DeviceKvLayout CudaBackend::with_base(const Packed& p, const int32_t* base) {
    DeviceKvLayout d = p.layout;
    d.positions = base + p.positions;
    d.token_seq = base + p.token_seq;
    d.block_index = base + p.block_index;
    return d;
}

void CudaBackend::begin_step(const backend::StepIndex& s) {
    // The current device is per host thread, and the engine's step thread is not the one that loaded the model.
    HOTROD_CUDA_CHECK(cudaSetDevice(opt_.device));
    graphs_.begin(false);  // ops a failed step recorded and never flushed are dropped
    // A hybrid model's recurrent layout goes before the block index, its snapshot entries padded to one a sequence,
    // so that no offset a decode step's launches name moves with the snapshot count or the sequences' lengths (a
    // decode step that takes a snapshot replays the same graph as one that does not).
    bool rec_valid = false;
    rec_buf_.clear();
    if (!s.recurrent.state_slots.empty()) {
        try {
            pack_recurrent("begin_step", s.recurrent, int64_t(s.recurrent.positions.size()), INT32_MAX, rec_buf_,
                           rec_runs_, rec_scratch_);
            const size_t n_seqs = s.recurrent.state_slots.size();
            rec_buf_.resize(std::max(rec_buf_.size(), n_seqs * (kRecurrentRunInts + 2)), 0);
            rec_valid = true;
        } catch (const std::invalid_argument&) {
            // Not registered: the ops check the layout again and say what is wrong with it.
            rec_buf_.clear();
        }
    }
    const Packed p = pack(s, pack_buf_, rec_buf_);
    const size_t rec_at = p.before_blocks;
    const size_t total = pack_buf_.size();
    if (total > index_capacity_) {
        HOTROD_CUDA_CHECK(cudaStreamSynchronize(stream_));
        cudaFreeHost(index_host_);
        cudaFree(index_dev_);
        index_host_ = nullptr;
        index_dev_ = nullptr;
        index_capacity_ = std::max(total, index_capacity_ * 2);
        HOTROD_CUDA_CHECK(cudaMallocHost(&index_host_, index_capacity_ * sizeof(int32_t)));
        HOTROD_CUDA_CHECK(cudaMalloc(&index_dev_, index_capacity_ * sizeof(int32_t)));
    } else {
        // The previous step's copy out of index_host_ must be done before it is overwritten (a step ends with a
        // to_host, so this returns at once).
        HOTROD_CUDA_CHECK(cudaStreamSynchronize(stream_));
    }
    std::memcpy(index_host_, pack_buf_.data(), total * sizeof(int32_t));
    if (total)
        HOTROD_CUDA_CHECK(cudaMemcpyAsync(index_dev_, index_host_, total * sizeof(int32_t), cudaMemcpyHostToDevice, stream_));
    step_ = StepArrays{};
    step_.tokens = s.tokens.data();
    step_.n_tokens = s.tokens.size();
    step_.logit_rows = s.logit_rows.data();
    step_.n_logit_rows = s.logit_rows.size();
    step_.positions = s.layout.positions.data();
    step_.block_tables = s.layout.block_tables.data();
    step_.n_seqs = s.layout.block_tables.size();
    step_.d_tokens = index_dev_ + p.tokens;
    step_.d_logit_rows = index_dev_ + p.logit_rows;
    step_.layout = with_base(p, index_dev_);
    step_.valid = true;
    if (s.decode_tokens >= 0 && size_t(s.decode_tokens) <= s.tokens.size()) {
        step_.n_decode = s.decode_tokens;
        // Rows sampled from (at most one a sequence: each sequence's last token, as the engine asks) take the decode
        // kernels whatever their token's kind: one row of the vocabulary matrix on the prefill kernels costs a
        // whole tile's time (the prompt's last token: +2 ms a prompt on an H100). Every such row of every step
        // takes the same kernels, so they stay batch-invariant. More logits rows than sequences (a perplexity
        // run's, prompt logits): by their tokens' kinds.
        step_.n_decode_logits =
            s.logit_rows.size() <= s.layout.block_tables.size()
                ? int32_t(s.logit_rows.size())
                : int32_t(std::count_if(s.logit_rows.begin(), s.logit_rows.end(),
                                        [&](int32_t r) { return r < s.decode_tokens; }));
    }
    step_.rec = s.recurrent;
    step_.rec_valid = rec_valid;
    if (rec_valid) {
        const int32_t* base = index_dev_ + rec_at;
        const size_t n_seqs = s.recurrent.state_slots.size();
        step_.d_rec = {reinterpret_cast<const RecurrentRun*>(base),
                       reinterpret_cast<const RecurrentSnap*>(base + kRecurrentRunInts * n_seqs), int(n_seqs)};
    }
    // Decode steps run as CUDA graphs (up to kMaxDecodeRows tokens, all of them generated ones where the step says);
    // prompt work is rarer and long enough that launching costs little, and graphing it too would multiply the
    // shapes kept (the e2e soak's server RSS grew 19% on an H100 while prompt tails took graphs of their own).
    graphs_.begin(s.tokens.size() <= size_t(kMaxDecodeRows) &&
                  (step_.n_decode < 0 || !invariant_ || size_t(step_.n_decode) == s.tokens.size()));
}

int32_t* CudaBackend::upload_ints(const int32_t* host, size_t n) {
    // Ad-hoc uploads go to the stream in order, so a later upload cannot overwrite data an earlier op still reads;
    // growing the area waits for the stream first. A recorded step's deferred launches go first (a graph cannot
    // hold this pageable copy).
    if (graphs_.recording()) graphs_.run_eagerly(stream_);
    if (n > adhoc_capacity_) {
        HOTROD_CUDA_CHECK(cudaStreamSynchronize(stream_));
        cudaFree(adhoc_dev_);
        adhoc_dev_ = nullptr;
        adhoc_capacity_ = std::max(n, adhoc_capacity_ * 2);
        HOTROD_CUDA_CHECK(cudaMalloc(&adhoc_dev_, adhoc_capacity_ * sizeof(int32_t)));
    }
    if (n) HOTROD_CUDA_CHECK(cudaMemcpyAsync(adhoc_dev_, host, n * sizeof(int32_t), cudaMemcpyHostToDevice, stream_));
    // A pageable-memory copy returns once the source is staged, so the host array may change afterwards.
    return adhoc_dev_;
}

const int32_t* CudaBackend::device_ints(std::span<const int32_t> host) {
    if (step_.valid) {
        if (host.data() == step_.tokens && host.size() == step_.n_tokens) return step_.d_tokens;
        if (host.data() == step_.logit_rows && host.size() == step_.n_logit_rows) return step_.d_logit_rows;
        if (host.data() == step_.positions && host.size() == step_.n_tokens) return step_.layout.positions;
    }
    return upload_ints(host.data(), host.size());
}

DeviceKvLayout CudaBackend::device_layout(const backend::KvLayout& L) {
    if (step_.valid && L.positions.data() == step_.positions && L.positions.size() == size_t(step_.layout.n_tokens) &&
        L.block_tables.data() == step_.block_tables && L.block_tables.size() == step_.n_seqs &&
        L.block_size == step_.layout.block_size)
        return step_.layout;
    // Outside a step (tests calling ops directly): the same packing, uploaded to the ad-hoc area.
    std::vector<int32_t> buf;
    const Packed p = pack(backend::StepIndex{{}, {}, L, {}}, buf);
    return with_base(p, upload_ints(buf.data(), buf.size()));
}

}  // namespace hotrod::cuda
