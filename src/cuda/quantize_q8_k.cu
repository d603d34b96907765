// F32 activation rows -> Q8_K super-blocks (the activations of the K-format matmuls), bit-exact with
// quantize_row_q8_k_ref (quantize_q8_k.cuh). One warp per super-block, 8 elements a lane.
#include <cstdint>
#include <stdexcept>
#include <string>

#include "cuda/check.h"
#include "cuda/launch.cuh"
#include "cuda/quantize_act.h"
#include "cuda/quantize_q8_k.cuh"
#include "quant/blocks.h"

namespace hotrod::cuda {

namespace {

constexpr int kWarpsPerBlock = 8;

__global__ void quantize_q8_k_kernel(const float* x, int64_t x_stride, int64_t n_blocks, int64_t blocks_per_row,
                                     uint8_t* out, size_t out_row_bytes) {
    grid_dependency_sync();
    const int64_t sb = int64_t(blockIdx.x) * kWarpsPerBlock + threadIdx.x / 32;
    if (sb >= n_blocks) return;  // the whole warp leaves together
    const int64_t row = sb / blocks_per_row, b = sb % blocks_per_row;
    quantize_q8_k_block(x + row * x_stride + b * quant::QK_K,
                        reinterpret_cast<quant::BlockQ8_K*>(out + row * out_row_bytes) + b, int(threadIdx.x % 32));
}

}  // namespace

void quantize_rows_q8_k(const float* x, int64_t x_stride, int64_t n_rows, int64_t n_cols, void* out,
                        size_t out_row_bytes, cudaStream_t stream) {
    const int64_t blocks_per_row = n_cols / quant::QK_K;
    if (n_cols % quant::QK_K != 0)
        throw std::invalid_argument("quantize_rows_q8_k: n_cols " + std::to_string(n_cols) + " is not a multiple of " +
                                    std::to_string(quant::QK_K));
    if (out_row_bytes % 4 != 0 || out_row_bytes < size_t(blocks_per_row) * sizeof(quant::BlockQ8_K))
        throw std::invalid_argument("quantize_rows_q8_k: out_row_bytes " + std::to_string(out_row_bytes) +
                                    " must be a multiple of 4 and hold " + std::to_string(blocks_per_row) +
                                    " Q8_K blocks");
    const int64_t n_blocks = n_rows * blocks_per_row;
    if (n_blocks <= 0) return;
    const int64_t grid = (n_blocks + kWarpsPerBlock - 1) / kWarpsPerBlock;
    launch_kernel(quantize_q8_k_kernel, unsigned(grid), kWarpsPerBlock * 32, 0, stream, x, x_stride, n_blocks,
                  blocks_per_row, static_cast<uint8_t*>(out), out_row_bytes);
}

}  // namespace hotrod::cuda
