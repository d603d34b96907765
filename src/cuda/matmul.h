// y = W x on the GPU for a weight matrix in its GGUF block format. x (F32 rows) is first quantized to the
// activation format the weight pairs with, with the CPU's roundings (Q8_1 for all 32-element formats: the CPU's Q8_0
// codes and scale for Q4_0 / Q5_0 / Q8_0, 4-byte aligned, see formats_q32.cuh; Q8_K for the K formats; F32 weights
// F16 / BF16 / F32 take x as is), and the products are the scalar references' integer block sums (formats.cuh), so
// GPU and CPU agree but for the order of float additions.
// Two paths: decode (every weight byte read once for up to kMaxDecodeRows token rows) and prefill (tiles of weight
// rows x tokens staged in shared memory, on tensor cores where the type has them). Which rows take which path is
// the caller's `decode_rows` (the step's generated tokens, see Backend's StepIndex): a row's result then depends on
// its own kind and values only, never on how many rows its step had (batch invariance); without it the row count
// decides (up to decode_max_rows() rows: decode).
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

#include "quant/types.h"

namespace hotrod::cuda {

// Rows one decode launch takes (its kernels are compiled for up to 16 rows); more decode rows take several.
constexpr int64_t kMaxDecodeRows = 16;

// The row count up to which a matmul given no decode_rows takes the decode path: kMaxDecodeRows, or
// HOTROD_CUDA_DECODE_MAX_ROWS (1 to 16) for measuring the prefill kernels against the decode ones at 5-16 rows (on an H100 the decode kernel took
// 10 / 15 / 23 / 51 / 106 us at 1 / 2 / 4 / 8 / 16 rows of a Q4_K 9728x2560, 2026-12-07, where 512 rows on fp16
// tensor cores took 141: the cut may belong lower). Read once a process.
int64_t decode_max_rows();

// decode_rows as Matmul::run takes it: clamped to [0, n_rows], or when negative, all n_rows up to
// decode_max_rows() rows and none above.
int64_t decode_rows_by_count(int64_t n_rows, int64_t decode_rows);

// A weight matrix on the device: n_out rows of n_in elements of `type`, row r at data + r * row_bytes.
struct DeviceWeight {
    quant::DType type = quant::DType::F32;
    const void* data = nullptr;
    int64_t n_out = 0;
    int64_t n_in = 0;
    size_t row_bytes = 0;
};

// F32 rows on the device: row r at data + r * stride (stride in floats, >= n_cols).
struct DeviceRows {
    float* data = nullptr;
    int64_t n_rows = 0;
    int64_t n_cols = 0;
    int64_t stride = 0;
    bool accumulate = false;  // as a product's output: y += W x instead of y = W x (decode steps of block formats only)
};

// Several products of one x (q/k/v, gate/up: Backend::matmul_shared), at most kMaxSharedOuts.
constexpr int kMaxSharedOuts = 3;
struct SharedOuts {
    int n = 0;
    DeviceWeight w[kMaxSharedOuts];
    DeviceRows y[kMaxSharedOuts];
};

// Whether matmul takes weights of this type.
bool matmul_supports(quant::DType type);

// Device scratch for the quantized activations of one matmul (reused by the next matmul of the same x, see
// Matmul::run). Grows on first use of a larger shape (the model's warm-up step), never shrinks.
class Matmul {
public:
    Matmul() = default;
    ~Matmul();
    Matmul(const Matmul&) = delete;
    Matmul& operator=(const Matmul&) = delete;

    // Sizes the scratch for up to max_rows rows of max_cols columns now, so the step loop allocates nothing.
    void reserve(int64_t max_rows, int64_t max_cols);

    // y = W x for every row of x (y.n_rows == x.n_rows, y.n_cols == w.n_out, x.n_cols == w.n_in). When
    // `x_unchanged` is true the caller promises x is the same data as in the previous run call (q/k/v, gate/up
    // reading one x): its quantized form is reused if it is in the needed format. Rows [0, decode_rows) take the
    // decode path (in launches of up to kMaxDecodeRows rows), the rest the prefill path; decode_rows < 0: by row
    // count (decode_rows_by_count). y += W x (y.accumulate) needs every row a decode row.
    void run(const DeviceWeight& w, const DeviceRows& x, const DeviceRows& y, bool x_unchanged, cudaStream_t stream,
             int64_t decode_rows = -1);

    // y[i] = W[i] x for every product, x quantized once per activation format. A step of decode rows only (up to
    // kMaxDecodeRows) launches each run of consecutive products with one weight type as one kernel
    // (matmul_kernels.h); otherwise they run one by one.
    void run_shared(const SharedOuts& outs, const DeviceRows& x, bool x_unchanged, cudaStream_t stream,
                    int64_t decode_rows = -1);

    // The scratch's address: a deferred launch records it (step_graph.h), so a graph never outlives a reallocation.
    const void* scratch() const { return scratch_; }

    // For kernels that quantize their own output for the next matmul (ops.h's *_quant_q8_k): the activation format
    // a weight type takes (F32 for the float formats), the scratch's row size for it, and the scratch itself,
    // marked as holding that format (call in stream order, just before the kernel that fills it; the next run
    // with x_unchanged then skips its quantization). The scratch must already hold the rows (reserve).
    static quant::DType act_type(quant::DType weight_type);
    static size_t act_row_bytes(quant::DType act, int64_t n_cols);
    void* scratch_for(quant::DType act) {
        scratch_type_ = act;
        scratch_like_ = quant::DType::F32;
        return scratch_;
    }

private:
    // x quantized to `act` in the scratch (reused when x_unchanged and the scratch already holds that format);
    // returns the quantized row size. For act F16, `like` names the activation format whose 8-bit grid x is
    // rounded to first (round_rows_f16), F32 none.
    size_t quantize(quant::DType act, const DeviceRows& x, bool x_unchanged, cudaStream_t stream,
                    quant::DType like = quant::DType::F32);

    void* scratch_ = nullptr;      // quantized activations
    size_t scratch_bytes_ = 0;
    quant::DType scratch_type_ = quant::DType::F32;  // the format scratch_ holds (F32: nothing valid)
    quant::DType scratch_like_ = quant::DType::F32;  // F16 scratch: the grid its values were rounded to first
};

// out[t] = dequantize(table row ids[t]) * scale, for t in [0, n): the embedding lookup. ids is a device array.
void embed_rows(quant::DType type, const void* table, size_t row_bytes, int64_t n_cols, const int32_t* ids, int64_t n,
                float scale, float* out, int64_t out_stride, cudaStream_t stream);

}  // namespace hotrod::cuda
