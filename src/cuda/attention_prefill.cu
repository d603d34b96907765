// Tiled attention for the tokens the decode kernel leaves (sequences with many query tokens: prefill). Grid
// (tile, KV head): tile x holds batch tokens [x * T, x * T + T), cut on the device at sequence boundaries into
// sub-tiles of one sequence each (a tile rarely straddles more than one boundary); decode tokens are skipped. A
// sub-tile's query rows (its tokens x the G query heads of the KV head, token-major) sit in shared memory; K and
// V rows go through shared memory in chunks of 32 positions, dequantized once and read by every row. Warp w owns
// rows w, w + 8, ..: in the score step lane j scores chunk position j against each of its rows, in the value step
// lane i accumulates output columns i, i + 32, .., so each row's online softmax lives in one warp's registers.
// All math is fp32; positions outside a row's window or past its own position score -inf.
#include <algorithm>
#include <stdexcept>
#include <string>

#include "cuda/attention_common.cuh"
#include "cuda/check.h"
#include "cuda/launch.cuh"
#include "cuda/switches.h"

namespace hotrod::cuda::attn {

namespace {

constexpr int kWarps = 8;
constexpr int kThreads = 32 * kWarps;
constexpr int kChunk = 32;  // positions per K/V chunk: one per lane in the score step

// Query rows per warp: up to 32 accumulators a thread (rows x head_dim / 32), at most 8 rows.
__host__ __device__ constexpr int rows_per_warp(int head_dim) {
    return head_dim / 32 <= 4 ? 8 : 32 / (head_dim / 32);
}
// Query rows of a tile: 64 up to head_dim 128, 32 at 256.
__host__ __device__ constexpr int tile_rows(int head_dim) { return kWarps * rows_per_warp(head_dim); }
// K/V staging row stride in floats: +4 keeps the score step's float4 reads of 32 rows free of bank conflicts.
__host__ __device__ constexpr int kv_stride(int head_dim) { return head_dim + 4; }
// Shared floats: q_s [tile_rows][head_dim], k_s and v_s [kChunk][kv_stride], then each row's first visible position
// and own position (int32) [tile_rows][2]. 97 KiB at head_dim 256.
__host__ __device__ constexpr size_t prefill_smem_floats(int head_dim) {
    return size_t(tile_rows(head_dim)) * (head_dim + 2) + 2 * size_t(kChunk) * kv_stride(head_dim);
}

template <quant::DType kType, int kDim>
__device__ void attend_sub_tile(const AttentionArgs& a, int ta, int tb, float* q_s, float* k_s, float* v_s,
                                int32_t* range_s) {
    constexpr int kCols = kDim / 32;
    constexpr int kRpw = rows_per_warp(kDim);
    constexpr int kStride = kv_stride(kDim);
    const DeviceKvLayout& L = a.layout;
    const int G = a.shape.n_heads / a.shape.n_kv_heads, g = int(blockIdx.y);
    const int lane = int(threadIdx.x) % 32, warp = int(threadIdx.x) / 32;
    const size_t row_bytes = kv_row_bytes<kType>(a.shape.n_kv_heads, kDim);
    const int32_t seq = L.token_seq[ta];
    const int n_rows = (tb - ta) * G;  // <= tile_rows: the host sizes tiles so

    __syncthreads();  // the previous sub-tile is done with q_s, k_s and v_s
    for (int e = int(threadIdx.x); e < n_rows * kDim; e += kThreads) {
        const int r = e / kDim, d = e % kDim;
        q_s[e] = round_fp16(a.q[int64_t(ta + r / G) * a.q_stride + int64_t(g * G + r % G) * kDim + d]);
    }
    for (int r = int(threadIdx.x); r < n_rows; r += kThreads) {
        int32_t end = 0;
        range_s[2 * r + 1] = L.positions[ta + r / G];
        visible_range(range_s[2 * r + 1], a.shape.window, range_s[2 * r], end);
    }

    float m[kRpw], l[kRpw], acc[kRpw][kCols];
#pragma unroll
    for (int i = 0; i < kRpw; ++i) {
        m[i] = -INFINITY;
        l[i] = 0.0f;
#pragma unroll
        for (int c = 0; c < kCols; ++c) acc[i][c] = 0.0f;
    }
    // The sub-tile reads positions [lo, hi): tokens are in position order, so the first token's window starts
    // first and the last token's position ends last.
    int32_t lo = 0, hi = 0;
    visible_range(L.positions[ta], a.shape.window, lo, hi);
    hi = L.positions[tb - 1] + 1;
    // Chunks at multiples of kChunk whatever the tile's first row (rows mask what they do not see), so where the
    // online softmax rebases does not depend on which tokens share the tile.
    lo = lo / kChunk * kChunk;

    for (int32_t c0 = lo; c0 < hi; c0 += kChunk) {
        __syncthreads();  // q_s written (first chunk); the last chunk's k_s / v_s reads done (later ones)
        // Stage: segment (position jj, 32 columns from 32 * c) per warp step; past hi write zeros (p = 0 there,
        // and 0 * garbage could be NaN).
#pragma unroll
        for (int k = 0; k < kChunk * kCols / kWarps; ++k) {
            const int seg = warp + kWarps * k;
            const int jj = seg / kCols, c = seg % kCols;
            const int32_t pos = c0 + jj;
            float kv = 0.0f, vv = 0.0f;
            if (pos < hi) {
                const int32_t row = kv_row(L, seq, pos);
                kv = load_elem<kType, kDim>(a.k, row_bytes, row, g, c, lane);
                vv = load_elem<kType, kDim>(a.v, row_bytes, row, g, c, lane);
            }
            k_s[jj * kStride + 32 * c + lane] = kv;
            v_s[jj * kStride + 32 * c + lane] = vv;
        }
        __syncthreads();

        float s[kRpw];
#pragma unroll
        for (int i = 0; i < kRpw; ++i) s[i] = 0.0f;
        const float4* k4 = reinterpret_cast<const float4*>(k_s + lane * kStride);
#pragma unroll 2
        for (int d4 = 0; d4 < kDim / 4; ++d4) {
            const float4 kk = k4[d4];
#pragma unroll
            for (int i = 0; i < kRpw; ++i) {
                const int r = warp + kWarps * i;
                if (r < n_rows) {
                    const float4 qq = reinterpret_cast<const float4*>(q_s + r * kDim)[d4];
                    s[i] += qq.x * kk.x + qq.y * kk.y + qq.z * kk.z + qq.w * kk.w;
                }
            }
        }

        const int32_t pos = c0 + lane;
        float p[kRpw];
#pragma unroll
        for (int i = 0; i < kRpw; ++i) {
            p[i] = 0.0f;
            const int r = warp + kWarps * i;
            if (r < n_rows) {
                const bool visible = pos < hi && pos >= range_s[2 * r] && pos <= range_s[2 * r + 1];
                const float sc = visible ? finish_score(s[i], a.shape.scale, a.shape.softcap) : -INFINITY;
                float alpha = 0.0f;
                p[i] = round_fp16(online_softmax_step(sc, m[i], l[i], alpha));  // l sums it unrounded
#pragma unroll
                for (int c = 0; c < kCols; ++c) acc[i][c] *= alpha;
            }
        }

        const int n_valid = min(kChunk, int(hi - c0));
        for (int j = 0; j < n_valid; ++j) {
            float v[kCols];
#pragma unroll
            for (int c = 0; c < kCols; ++c) v[c] = v_s[j * kStride + 32 * c + lane];
#pragma unroll
            for (int i = 0; i < kRpw; ++i) {
                if (warp + kWarps * i < n_rows) {
                    const float pj = __shfl_sync(kFullMask, p[i], j);
#pragma unroll
                    for (int c = 0; c < kCols; ++c) acc[i][c] += pj * v[c];
                }
            }
        }
    }

#pragma unroll
    for (int i = 0; i < kRpw; ++i) {
        const int r = warp + kWarps * i;
        if (r < n_rows) {
            float* o = a.out + int64_t(ta + r / G) * a.out_stride + int64_t(g * G + r % G) * kDim;
            const float inv = l[i] > 0.0f ? 1.0f / l[i] : 0.0f;
#pragma unroll
            for (int c = 0; c < kCols; ++c) o[32 * c + lane] = acc[i][c] * inv;
        }
    }
}

template <quant::DType kType, int kDim>
__global__ void __launch_bounds__(kThreads, 2) prefill_kernel(AttentionArgs a, int tile_tokens) {
    grid_dependency_sync();
    extern __shared__ float4 smem4[];
    float* q_s = reinterpret_cast<float*>(smem4);
    float* k_s = q_s + tile_rows(kDim) * kDim;
    float* v_s = k_s + kChunk * kv_stride(kDim);
    auto* range_s = reinterpret_cast<int32_t*>(v_s + kChunk * kv_stride(kDim));
    for_each_prefill_sub_tile(a, tile_tokens, [&](int ta, int tb) {
        attend_sub_tile<kType, kDim>(a, ta, tb, q_s, k_s, v_s, range_s);
    });
}

template <quant::DType kType, int kDim>
void launch(const AttentionArgs& a, cudaStream_t stream) {
    const int G = a.shape.n_heads / a.shape.n_kv_heads;
    const int tile_tokens = tile_rows(kDim) / G;  // >= 1: G <= kPrefillMaxGroup <= tile_rows (checked by run)
    const size_t smem = prefill_smem_floats(kDim) * sizeof(float);
    HOTROD_CUDA_CHECK(cudaFuncSetAttribute(prefill_kernel<kType, kDim>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                           int(smem)));
    const dim3 grid(unsigned((a.layout.n_tokens + tile_tokens - 1) / tile_tokens), unsigned(a.shape.n_kv_heads));
    launch_kernel(prefill_kernel<kType, kDim>, grid, kThreads, smem, stream, a, tile_tokens);
}

template <quant::DType kType>
void launch_dim(const AttentionArgs& a, cudaStream_t stream) {
    switch (a.shape.head_dim) {
        case 32: return launch<kType, 32>(a, stream);
        case 64: return launch<kType, 64>(a, stream);
        case 96: return launch<kType, 96>(a, stream);
        case 128: return launch<kType, 128>(a, stream);
        case 160: return launch<kType, 160>(a, stream);
        case 192: return launch<kType, 192>(a, stream);
        case 224: return launch<kType, 224>(a, stream);
        case 256: return launch<kType, 256>(a, stream);
        default: break;
    }
    throw std::invalid_argument("cuda attention (prefill): head_dim " + std::to_string(a.shape.head_dim) +
                                " (a multiple of 32 up to 256)");
}

static_assert(tile_rows(256) >= kPrefillMaxGroup && tile_rows(224) >= kPrefillMaxGroup,
              "a tile must hold one token's query heads");

}  // namespace

void launch_attention_prefill(const AttentionArgs& a, int n_splits, float* scratch, cudaStream_t stream) {
    static const bool mma = !switch_off("HOTROD_CUDA_MMA");
    if (mma && prefill_mma_takes(a)) return launch_attention_prefill_mma(a, n_splits, scratch, stream);
    if (a.type == quant::DType::F16) launch_dim<quant::DType::F16>(a, stream);
    else launch_dim<quant::DType::Q8_0>(a, stream);
}

}  // namespace hotrod::cuda::attn
