// The KV-cache write on the GPU: each token's F32 k and v rows converted to the cache type at its slot. Bit for
// bit the CPU backend's row store (cpu::find_kv_row_store): F16 rounds to nearest even (__float2half_rn, as
// quant::fp32_to_fp16 and F16C); Q8_0 is quant::quantize_row_q8_0_act_ref, what the CPU backend's cache holds
// (scale fp16(amax / 127), codes rint(x * (127 / amax)) with ties to even), with every float operation explicitly
// rounded so nvcc cannot contract or approximate it.
#include <cuda_fp16.h>

#include <stdexcept>
#include <string>

#include "cuda/attention.h"
#include "cuda/attention_common.cuh"
#include "cuda/check.h"
#include "cuda/launch.cuh"

namespace hotrod::cuda {

namespace {

constexpr int kThreads = 128;

// Block (token, K or V): F16 one element per thread per step; Q8_0 one 32-element block per warp per step, a lane
// per element, the block's amax by warp reduction.
template <quant::DType kType>
__global__ void __launch_bounds__(kThreads) kv_store_kernel(uint8_t* k_cache, uint8_t* v_cache, size_t row_bytes,
                                                            DeviceKvLayout layout, int width, const float* k,
                                                            int64_t k_stride, const float* v, int64_t v_stride) {
    grid_dependency_sync();
    const int t = int(blockIdx.x);
    const bool is_v = blockIdx.y == 1;
    const float* src = (is_v ? v : k) + int64_t(t) * (is_v ? v_stride : k_stride);
    const int32_t row = attn::kv_row(layout, layout.token_seq[t], layout.positions[t]);
    uint8_t* dst = (is_v ? v_cache : k_cache) + size_t(row) * row_bytes;
    if constexpr (kType == quant::DType::F16) {
        __half* out = reinterpret_cast<__half*>(dst);
        for (int i = int(threadIdx.x); i < width; i += kThreads) out[i] = __float2half_rn(src[i]);
    } else {
        const int lane = int(threadIdx.x) % 32, warp = int(threadIdx.x) / 32;
        for (int b = warp; b < width / 32; b += kThreads / 32)
            attn::store_q8_0_element(src[32 * b + lane], dst + size_t(b) * attn::kQ8Bytes, lane);
    }
}

}  // namespace

void kv_store(const DeviceKvCache& cache, const DeviceKvLayout& layout, const float* k, int64_t k_stride,
              const float* v, int64_t v_stride, cudaStream_t stream) {
    const bool f16 = cache.type == quant::DType::F16;
    if ((!f16 && cache.type != quant::DType::Q8_0) || cache.n_kv_heads <= 0 || cache.head_dim <= 0 ||
        (!f16 && cache.head_dim % 32 != 0) || layout.block_size <= 0) {
        throw std::invalid_argument("cuda::kv_store: cache type " + std::string(quant::type_name(cache.type)) +
                                    " with " + std::to_string(cache.n_kv_heads) + " x " +
                                    std::to_string(cache.head_dim) + " heads, block size " +
                                    std::to_string(layout.block_size) +
                                    " (F16, or Q8_0 with head_dim % 32 == 0)");
    }
    if (layout.n_tokens <= 0) return;
    const int width = cache.n_kv_heads * cache.head_dim;
    const dim3 grid(unsigned(layout.n_tokens), 2);
    auto* kc = static_cast<uint8_t*>(cache.k);
    auto* vc = static_cast<uint8_t*>(cache.v);
    if (f16) {
        launch_kernel(kv_store_kernel<quant::DType::F16>, grid, kThreads, 0, stream, kc, vc,
                      attn::kv_row_bytes<quant::DType::F16>(cache.n_kv_heads, cache.head_dim), layout, width,
                      k, k_stride, v, v_stride);
    } else {
        launch_kernel(kv_store_kernel<quant::DType::Q8_0>, grid, kThreads, 0, stream, kc, vc,
                      attn::kv_row_bytes<quant::DType::Q8_0>(cache.n_kv_heads, cache.head_dim), layout, width,
                      k, k_stride, v, v_stride);
    }
}

}  // namespace hotrod::cuda
