// Row-wise ops of the forward on the GPU: norms, RoPE, gated activations, residual add, row gathers and head copies. F32 rows,
// strides in floats; index arrays (positions, rows) are device arrays. Each matches its CPU scalar reference
// (src/cpu/ops_*.cpp) within float rounding; the activations match the exact functions (the CPU's fp16 lookup
// table for GELU is not reproduced).
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

namespace hotrod::cuda {

// out[r] = x[r] / sqrt(mean(x[r]^2) + eps) * w, per row (w: n_cols floats). out may equal x.
void rms_norm(const float* x, int64_t x_stride, const float* w, float eps, int64_t n_rows, int64_t n_cols, float* out,
              int64_t out_stride, cudaStream_t stream);

// The same over each head_dim-wide slice of every row, in place (QK-norm; w: head_dim floats).
void rms_norm_heads(float* x, int64_t x_stride, const float* w, int head_dim, float eps, int64_t n_rows,
                    int64_t n_cols, cudaStream_t stream);
// Whether rms_norm_heads reads these rows as float4s (its sums, hence its bits, depend on it).
bool rms_norm_heads_vectorized(const float* x, int64_t x_stride, const float* w, int head_dim, int64_t n_heads);

// RoPE in place over rows of n_heads * head_dim at positions[r]: the first n_dims of each head rotated, pairs
// (2i, 2i+1) when neox is false, (i, i + n_dims/2) when true; angle = position * freq_scale * base^(-2i/n_dims).
void rope(float* x, int64_t x_stride, int64_t n_rows, int n_heads, int head_dim, const int32_t* positions, bool neox,
          int n_dims, float freq_base, float freq_scale, cudaStream_t stream);
// The same rotation with the angles precomputed: rope_fill_table writes the cos / sin of every position in
// [0, n_positions) (n_dims floats a position: cos of angles 0..n_dims/2-1, then their sin), computed exactly as
// rope() computes them; rope_from_table reads positions[r]'s row of it, giving rope()'s bits without a double
// pow and sincos per step. Positions must be below the table's n_positions.
void rope_fill_table(float* table, int n_positions, int n_dims, float freq_base, float freq_scale, cudaStream_t stream);
void rope_from_table(float* x, int64_t x_stride, int64_t n_rows, int n_heads, int head_dim, const int32_t* positions,
                     bool neox, int n_dims, const float* table, cudaStream_t stream);

// out = silu(gate) * up, and out = gelu_tanh(gate) * up, elementwise over n_rows x n_cols.
void swiglu(const float* gate, int64_t gate_stride, const float* up, int64_t up_stride, float* out, int64_t out_stride,
            int64_t n_rows, int64_t n_cols, cudaStream_t stream);
void geglu(const float* gate, int64_t gate_stride, const float* up, int64_t up_stride, float* out, int64_t out_stride,
           int64_t n_rows, int64_t n_cols, cudaStream_t stream);

// Fused with the next matmul's activation quantization (decode steps; step_graph.h): the op's output as above,
// and q (n_rows rows of q_row_bytes) the Q8_K blocks quantize_rows_q8_k would make of it, in one launch.
// rms_norm_quant_q8_k takes rows where rms_norm_quant_fits (over 512 floats, whole super-blocks) and an out that
// does not overlap x; the gated ones any multiple of 256.
bool rms_norm_quant_fits(int64_t n_cols);
void rms_norm_quant_q8_k(const float* x, int64_t x_stride, const float* w, float eps, int64_t n_rows, int64_t n_cols,
                         float* out, int64_t out_stride, void* q, size_t q_row_bytes, cudaStream_t stream);
void swiglu_quant_q8_k(const float* gate, int64_t gate_stride, const float* up, int64_t up_stride, float* out,
                       int64_t out_stride, int64_t n_rows, int64_t n_cols, void* q, size_t q_row_bytes,
                       cudaStream_t stream);
void geglu_quant_q8_k(const float* gate, int64_t gate_stride, const float* up, int64_t up_stride, float* out,
                      int64_t out_stride, int64_t n_rows, int64_t n_cols, void* q, size_t q_row_bytes,
                      cudaStream_t stream);

// x += y, elementwise over n_rows x n_cols.
void add(float* x, int64_t x_stride, const float* y, int64_t y_stride, int64_t n_rows, int64_t n_cols,
         cudaStream_t stream);

// ids[r] = the first index of row r's largest value (NaN never wins), -1 when nothing in it is above -inf
// (argmax.cu: Backend::argmax_rows's device half). ids is device memory.
void argmax_rows(const float* x, int64_t x_stride, int64_t n_rows, int64_t n_cols, int32_t* ids, cudaStream_t stream);

// out[i] = x[rows[i]] for i in [0, n).
void gather_rows(const float* x, int64_t x_stride, const int32_t* rows, int64_t n, int64_t n_cols, float* out,
                 int64_t out_stride, cudaStream_t stream);

// out[r][h*head_dim + i] = x[r][h*head_stride + i] for the n_cols / head_dim heads of an output row (the queries of
// a fused [q | gate] projection into a dense row).
void copy_heads(const float* x, int64_t x_stride, int head_dim, int head_stride, int64_t n_rows, int64_t n_cols,
                float* out, int64_t out_stride, cudaStream_t stream);

}  // namespace hotrod::cuda
