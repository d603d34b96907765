// y = W x for a weight matrix in any GGUF format with a dot kernel, on the thread pool. Activation quantization
// is split from the product so a model quantizes x once and reuses it for several weights (q/k/v, gate/up).
// Two paths: GEMV for 1..8 tokens (threads split the rows, each weight row is read once for all tokens) and a
// tiled GEMM for more (blocks of rows x token columns, spread over the threads in 2-D). No allocation per call.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "cpu/dot.h"
#include "cpu/thread_pool.h"
#include "quant/types.h"

namespace hotrod::cpu {

// Up to this many tokens a matmul takes the GEMV path (threads split the rows); beyond, the GEMM path.
constexpr int64_t kMaxGemvTokens = 8;
// Products matmul_quantized_many runs as one pool dispatch.
constexpr size_t kMaxSharedProducts = 4;

// A weight matrix (n_out rows x n_in), row r at data + r * row_stride (a row is row_bytes(type, n_in) long;
// the stride may be larger). Zero-copy: data usually points into the model mmap.
struct WeightMatrix {
    quant::DType type;
    const void* data;
    int64_t n_out;
    int64_t n_in;
    size_t row_stride;
};

// Makes a WeightMatrix of densely packed rows; throws std::invalid_argument if n_in is not a whole number of
// blocks of `type`.
WeightMatrix dense_weight(quant::DType type, const void* data, int64_t n_out, int64_t n_in);

// Activations ready for the dot kernels: n_tokens rows of n_in elements in `type` (Q8_0, Q8_1, Q8_K or F32),
// token t at data + t * row_stride.
struct Activations {
    quant::DType type;
    const uint8_t* data;
    size_t row_stride;
    int64_t n_tokens;
    int64_t n_in;
};

// Scratch for quantized activations, one buffer per activation format so Q8_0 and Q8_K copies of the same x can
// live side by side. Sized once (reserve), then reused by every call.
class Workspace {
public:
    void reserve(int64_t max_tokens, int64_t max_n_in);
    int64_t max_tokens() const { return max_tokens_; }
    int64_t max_n_in() const { return max_n_in_; }
    uint8_t* buffer(quant::DType act_type);  // Q8_0, Q8_1 or Q8_K

private:
    int64_t max_tokens_ = 0, max_n_in_ = 0;
    std::vector<uint8_t> q8_0_, q8_k_, q8_1_;
};

// x: n_tokens rows of n_in floats, token-major. F32 activations are not copied (the result points at x, which
// must outlive it). Throws std::invalid_argument when the workspace is too small or n_in is ragged.
Activations quantize_activations(ThreadPool& pool, Isa isa, quant::DType act_type, const float* x, int64_t n_tokens,
                                 int64_t n_in, Workspace& ws);

// y[t * n_out + r] = dot(W row r, token t), y token-major [n_tokens x n_out]. xq.type must be
// activation_type(w.type) and xq.n_in == w.n_in (else std::invalid_argument).
void matmul_quantized(ThreadPool& pool, Isa isa, const WeightMatrix& w, const Activations& xq, float* y);

// ys[i] = ws[i] xqs[i] for several products at once: a decode step's q/k/v or gate/up run as one pool dispatch
// (one wake-up and one join instead of one per product) when every xq has at most kMaxGemvTokens tokens and
// there are at most kMaxSharedProducts products; otherwise one matmul_quantized each. Same results as separate calls.
void matmul_quantized_many(ThreadPool& pool, Isa isa, std::span<const WeightMatrix> ws,
                           std::span<const Activations> xqs, std::span<float* const> ys);

// Both steps in one: quantize x for w's format, then multiply.
void matmul(ThreadPool& pool, Isa isa, const WeightMatrix& w, const float* x, int64_t n_tokens, float* y,
            Workspace& ws);

}  // namespace hotrod::cpu
