// Backend::prepare_attention in one launch: QK-norm, rope of q and k, and k and v into the cache, which the default
// issues as five kernels (rms_norm_heads twice, rope twice, kv_store). In a decode step each of those is a few
// microseconds of launch and drain around almost no work, five times a layer. Here a warp takes one head of one
// token: a q head is normalised and rotated in place; a k head likewise, then stored into the cache; a v head only
// stored. Each step is the unfused kernels' own device code (norm.cuh, rope.cuh, store_q8_0_element) over the same
// elements in the same order, so the result is theirs bit for bit (tests/unit/cuda/test_attention_inputs.cpp).
#include <cuda_fp16.h>

#include <stdexcept>
#include <string>

#include "cuda/attention.h"
#include "cuda/attention_common.cuh"
#include "cuda/check.h"
#include "cuda/launch.cuh"
#include "cuda/norm.cuh"
#include "cuda/ops.h"
#include "cuda/rope.cuh"

namespace hotrod::cuda {

namespace {

constexpr int kWarps = 8;  // heads a block

template <bool kNeox, quant::DType kType>
__global__ void __launch_bounds__(kWarps * 32) attention_inputs_kernel(AttentionInputsArgs a) {
    grid_dependency_sync();
    const int lane = int(threadIdx.x) % 32;
    const int unit = int(blockIdx.x) * kWarps + int(threadIdx.x) / 32;  // q heads, then k heads, then v heads
    const int t = int(blockIdx.y);
    const int D = a.head_dim, n_kv = a.cache.n_kv_heads;
    if (unit >= a.n_heads + 2 * n_kv) return;  // whole warps: unit depends on the warp alone
    const bool is_q = unit < a.n_heads, is_v = unit >= a.n_heads + n_kv;
    const int h = is_q ? unit : is_v ? unit - a.n_heads - n_kv : unit - a.n_heads;
    float* x = (is_q ? a.q + int64_t(t) * a.q_stride : is_v ? a.v + int64_t(t) * a.v_stride : a.k + int64_t(t) * a.k_stride) +
               int64_t(h) * D;
    if (!is_v) {
        if (const float* w = is_q ? a.q_norm : a.k_norm) {
            const double sum_sq = warp_sum_f64(sum_squares_part<true>(x, D, lane, 32));
            scale_part<true>(x, w, inv_rms_of(sum_sq, D, a.eps), D, x, lane, 32);
            __syncwarp();  // rope pairs read elements other lanes wrote
        }
        const int half = a.n_dims / 2;
        const float* cs = a.rope_table + int64_t(a.layout.positions[t]) * a.n_dims;
        for (int p = lane; p < half; p += 32) rotate_pair<kNeox>(x, p, half, cs[p], cs[half + p]);
        if (is_q) return;
        __syncwarp();
    }
    const int32_t row = attn::kv_row(a.layout, a.layout.token_seq[t], a.layout.positions[t]);
    const size_t row_bytes = attn::kv_row_bytes<kType>(n_kv, D);
    uint8_t* dst = static_cast<uint8_t*>(is_v ? a.cache.v : a.cache.k) + size_t(row) * row_bytes +
                   size_t(h) * attn::kv_head_bytes<kType>(D);
    if constexpr (kType == quant::DType::F16) {
        __half* out = reinterpret_cast<__half*>(dst);
        for (int i = lane; i < D; i += 32) out[i] = __float2half_rn(x[i]);
    } else {
        for (int b = 0; b < D / 32; ++b) attn::store_q8_0_element(x[32 * b + lane], dst + size_t(b) * attn::kQ8Bytes, lane);
    }
}

}  // namespace

bool attention_inputs_fit(const AttentionInputsArgs& a) {
    const int D = a.head_dim;
    const bool type_ok = a.cache.type == quant::DType::F16 || a.cache.type == quant::DType::Q8_0;
    // The fused kernel has only rms_norm_heads' float4 path, so where that one would not take it the op keeps the
    // separate kernels and their bits.
    const auto vec = [&](const float* x, int64_t stride, const float* w, int n_heads) {
        return w == nullptr || rms_norm_heads_vectorized(x, stride, w, D, n_heads);
    };
    return type_ok && D > 0 && D % 32 == 0 && D <= 256 && a.cache.head_dim == D && a.n_dims > 0 && a.n_dims <= D &&
           a.n_dims % 2 == 0 && a.n_heads > 0 && a.cache.n_kv_heads > 0 && vec(a.q, a.q_stride, a.q_norm, a.n_heads) &&
           vec(a.k, a.k_stride, a.k_norm, a.cache.n_kv_heads);
}

void attention_inputs(const AttentionInputsArgs& a, cudaStream_t stream) {
    if (!attention_inputs_fit(a))
        throw std::invalid_argument("cuda::attention_inputs: head_dim " + std::to_string(a.head_dim) + ", n_dims " +
                                    std::to_string(a.n_dims) + ", cache " + std::string(quant::type_name(a.cache.type)) +
                                    " (needs head_dim a multiple of 32 up to 256, an F16 or Q8_0 cache and "
                                    "16-byte aligned rows where a head is normalised)");
    if (a.layout.n_tokens <= 0) return;
    const dim3 grid(unsigned((a.n_heads + 2 * a.cache.n_kv_heads + kWarps - 1) / kWarps), unsigned(a.layout.n_tokens));
    const bool f16 = a.cache.type == quant::DType::F16;
    if (a.neox) {
        if (f16) launch_kernel(attention_inputs_kernel<true, quant::DType::F16>, grid, kWarps * 32, 0, stream, a);
        else launch_kernel(attention_inputs_kernel<true, quant::DType::Q8_0>, grid, kWarps * 32, 0, stream, a);
    } else {
        if (f16) launch_kernel(attention_inputs_kernel<false, quant::DType::F16>, grid, kWarps * 32, 0, stream, a);
        else launch_kernel(attention_inputs_kernel<false, quant::DType::Q8_0>, grid, kWarps * 32, 0, stream, a);
    }
}

}  // namespace hotrod::cuda
