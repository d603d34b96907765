// Tiled prefill attention on fp16 tensor cores (mma.sync m16n8k16, fp32 accumulation) for an F16 cache at head_dim
// 64, 128 and 256: the shapes of the models served most (Qwen3.5's and Gemma 3's attention layers are 256 wide). The tiles and their order are attention_prefill.cu's (a tile
// of query rows of one KV head, cut at sequence boundaries, K/V in chunks of positions through shared memory, an
// online softmax per row); the products run on tensor cores instead of FMAs: four warps, 16 query rows each, compute
// S = Q K^T for a chunk of 64 positions (32 at head_dim 256), mask and soften it in registers, and add P V. At
// head_dim 256 a warp's 16 x 256 fp32 output alone takes 128 registers, so Q's fragments are read from shared memory
// at each k-step instead of being held in registers, and the chunk is halved (its scores: 16 registers, not 32).
//
// The numbers are the CUDA-core kernel's: Q is rounded to fp16 (as the CPU does), K and V are the cache's fp16
// values, products of two halves are exact in fp32, so the scores differ only by summation order; each probability
// is rounded to fp16 for the V product while the row sum l adds it unrounded; out = acc / l. What differs is the
// chunk (64 positions, not 32): where the running max is rebased, which moves the fp16 rounding of some
// probabilities by the same amount the CPU's final-max rebasing does.
//
// A long context's few tiles are split (prefill_splits): grid z cuts each tile's positions into ranges of whole
// chunks, each block writes its rows' (max, sum, unnormalised output) in the decode kernel's partial layout, and the
// shared combine kernel merges them by log-sum-exp (a split with no visible position writes max -inf: no weight).
//
// Fragment layouts (PTX ISA, mma.m16n8k16 .f16): g = lane / 4, t = lane % 4. A (16 x 16, row-major): a0 = row g,
// cols 2t, 2t+1; a1 = row g+8, same cols; a2 = row g, cols 2t+8, 2t+9; a3 = row g+8, cols 2t+8, 2t+9. B (16 x 8):
// b0 = rows (k) 2t, 2t+1 of column g; b1 = rows 2t+8, 2t+9. C: c0, c1 = row g, cols 2t, 2t+1; c2, c3 = row g+8.
// So S's C fragments of two neighbouring 8-position tiles are exactly P's A fragment for 16 positions, and a
// K row (position) read two halves at a time is S's B fragment; V is staged transposed ([dim][position]) so P V's
// B fragment is two halves of one row as well.
#include <cuda_fp16.h>

#include <algorithm>
#include <climits>
#include <cstdint>

#include "cuda/attention_common.cuh"
#include "cuda/check.h"
#include "cuda/launch.cuh"
#include "cuda/mma.cuh"
#include "cuda/switches.h"

namespace hotrod::cuda::attn {

namespace {

constexpr int kWarps = 4;
constexpr int kThreads = 32 * kWarps;
constexpr int kRows = 16 * kWarps;  // query rows a tile: the CUDA-core kernel's tile_rows at head_dim <= 128
// Positions per K/V chunk, and whether Q's fragments stay in registers (see the top).
__host__ __device__ constexpr int chunk_for(int dim) { return dim > 128 ? 32 : 64; }
__host__ __device__ constexpr bool q_in_registers(int dim) { return dim <= 128; }
constexpr int kPad = 8;             // halves of padding per shared row: row strides of 4 mod 32 words, so the 8
                                    // rows x 4 words of a fragment load fall in 32 different banks

__device__ __forceinline__ uint32_t lds32(const __half* p) { return *reinterpret_cast<const uint32_t*>(p); }

__device__ __forceinline__ uint32_t pack_half2(float lo, float hi) {
    const __half2 h = __floats2half2_rn(lo, hi);
    return *reinterpret_cast<const uint32_t*>(&h);
}

// Max and sum over the 4 lanes of a quad (the lanes holding one fragment row).
__device__ __forceinline__ float quad_max(float x) {
    x = fmaxf(x, __shfl_xor_sync(kFullMask, x, 1));
    return fmaxf(x, __shfl_xor_sync(kFullMask, x, 2));
}
__device__ __forceinline__ float quad_sum(float x) {
    x += __shfl_xor_sync(kFullMask, x, 1);
    return x + __shfl_xor_sync(kFullMask, x, 2);
}

template <int kDim>
struct Smem {
    static constexpr int kChunk = chunk_for(kDim);
    static constexpr int kQK = kDim + kPad;    // q_h and k_h row stride (halves)
    static constexpr int kVT = kChunk + kPad;  // vt_h row stride (halves)
    static constexpr size_t kBytes = size_t(kRows) * kQK * 2 + size_t(kChunk) * kQK * 2 + size_t(kDim) * kVT * 2 +
                                     size_t(kRows) * 2 * sizeof(int32_t);
};

// Where a split's partial results go: n_splits 1 writes out directly. span > 0: split z covers positions
// [z * span, (z + 1) * span) for every tile (prefill_split_span), else the tile's own range is cut in n_splits.
struct SplitOut {
    int n_splits;
    int span;
    float* part_acc;
    float* part_ml;
};

template <int kDim>
__device__ void attend_sub_tile_mma(const AttentionArgs& a, int ta, int tb, __half* q_h, __half* k_h, __half* vt_h,
                                    int32_t* range_s, const SplitOut& so) {
    using S = Smem<kDim>;
    constexpr int kChunk = S::kChunk;
    constexpr bool kQRegs = q_in_registers(kDim);
    constexpr int kK = kDim / 16;  // k-steps of S = Q K^T
    constexpr int kN = kDim / 8;   // n-tiles of P V
    const DeviceKvLayout& L = a.layout;
    const int G = a.shape.n_heads / a.shape.n_kv_heads, kvh = int(blockIdx.y);
    const int tid = int(threadIdx.x), lane = tid % 32, warp = tid / 32;
    const int g = lane / 4, t = lane % 4;
    const size_t row_bytes = kv_row_bytes<quant::DType::F16>(a.shape.n_kv_heads, kDim);
    const int32_t seq = L.token_seq[ta];
    const int n_rows = (tb - ta) * G;  // <= kRows: the host sizes tiles so

    __syncthreads();  // the previous sub-tile is done with the shared tiles
    for (int e = tid; e < kRows * kDim / 2; e += kThreads) {
        const int r = e / (kDim / 2), d = 2 * (e % (kDim / 2));
        float x0 = 0.0f, x1 = 0.0f;  // rows past the tile: zeros (their results are not stored)
        if (r < n_rows) {
            const float* q = a.q + int64_t(ta + r / G) * a.q_stride + int64_t(kvh * G + r % G) * kDim + d;
            x0 = q[0], x1 = q[1];
        }
        *reinterpret_cast<__half2*>(q_h + r * S::kQK + d) = __floats2half2_rn(x0, x1);
    }
    for (int r = tid; r < kRows; r += kThreads) {
        int32_t first = INT_MAX, own = -1, end = 0;  // rows past the tile see nothing
        if (r < n_rows) {
            own = L.positions[ta + r / G];
            visible_range(own, a.shape.window, first, end);
        }
        range_s[2 * r] = first;
        range_s[2 * r + 1] = own;
    }
    __syncthreads();

    const int r0 = 16 * warp;  // this warp's first row
    const bool active = r0 < n_rows;
    // Q's A fragment for k-step kk: rows g and g + 8 of the warp, columns 16 kk + 2t (+1, +8, +9).
    const auto q_fragment = [&](int kk, uint32_t (&f)[4]) {
        const __half* q0 = q_h + (r0 + g) * S::kQK + 16 * kk + 2 * t;
        const __half* q1 = q0 + 8 * S::kQK;
        f[0] = lds32(q0), f[1] = lds32(q1), f[2] = lds32(q0 + 8), f[3] = lds32(q1 + 8);
    };
    uint32_t qa[kQRegs ? kK : 1][4];
    if constexpr (kQRegs) {
#pragma unroll
        for (int kk = 0; kk < kK; ++kk) q_fragment(kk, qa[kk]);
    }
    // Rows g and g + 8 of the warp: their visible ranges, running max and sum.
    const int32_t first[2] = {range_s[2 * (r0 + g)], range_s[2 * (r0 + g + 8)]};
    const int32_t own[2] = {range_s[2 * (r0 + g) + 1], range_s[2 * (r0 + g + 8) + 1]};
    float m[2] = {-INFINITY, -INFINITY}, l[2] = {0.0f, 0.0f};
    float o[kN][4];
#pragma unroll
    for (int n = 0; n < kN; ++n) o[n][0] = o[n][1] = o[n][2] = o[n][3] = 0.0f;

    int32_t lo = 0, hi = 0;
    visible_range(L.positions[ta], a.shape.window, lo, hi);
    hi = L.positions[tb - 1] + 1;
    // Chunks at multiples of kChunk whatever the tile's first row (a sliding window's rows mask what they do not
    // see), so where the online softmax rebases does not depend on which tokens share the tile.
    lo = lo / kChunk * kChunk;
    if (so.span > 0) {  // this block's span of positions, the same for every tile
        const int32_t s0 = int32_t(blockIdx.z) * so.span;
        lo = max(lo, s0);
        hi = min(hi, s0 + so.span);
    } else if (so.n_splits > 1) {  // this block's whole chunks of the tile's range (none past its end: rows see nothing)
        const int32_t per = ((hi - lo + kChunk - 1) / kChunk + so.n_splits - 1) / so.n_splits * kChunk;
        lo += int32_t(blockIdx.z) * per;
        hi = min(hi, lo + per);
    }

    for (int32_t c0 = lo; c0 < hi; c0 += kChunk) {
        __syncthreads();  // the previous chunk's reads of k_h / vt_h are done
        // Stage 8 halves (16 bytes) a step: K row-major, V transposed; positions past hi are zeros.
        for (int e = tid; e < kChunk * kDim / 8; e += kThreads) {
            const int j = e / (kDim / 8), d = 8 * (e % (kDim / 8));
            const int32_t pos = c0 + j;
            uint4 kv = make_uint4(0, 0, 0, 0), vv = make_uint4(0, 0, 0, 0);
            if (pos < hi) {
                const size_t off = size_t(kv_row(L, seq, pos)) * row_bytes + size_t(kvh) * kDim * 2 + size_t(d) * 2;
                kv = *reinterpret_cast<const uint4*>(a.k + off);
                vv = *reinterpret_cast<const uint4*>(a.v + off);
            }
            *reinterpret_cast<uint4*>(k_h + j * S::kQK + d) = kv;
            const __half* vh = reinterpret_cast<const __half*>(&vv);
#pragma unroll
            for (int i = 0; i < 8; ++i) vt_h[(d + i) * S::kVT + j] = vh[i];
        }
        __syncthreads();
        if (!active) continue;  // no rows here: only the barriers above are this warp's part

        float s[kChunk / 8][4];
#pragma unroll
        for (int n = 0; n < kChunk / 8; ++n) s[n][0] = s[n][1] = s[n][2] = s[n][3] = 0.0f;
#pragma unroll
        for (int kk = 0; kk < kK; ++kk) {
            uint32_t qf[4];
            if constexpr (kQRegs) qf[0] = qa[kk][0], qf[1] = qa[kk][1], qf[2] = qa[kk][2], qf[3] = qa[kk][3];
            else q_fragment(kk, qf);
            // Each k-step's 16 products summed by the tensor core from zero, the steps added here in fp32 with
            // round-to-nearest: the tensor core's accumulation into a large running sum keeps fewer low bits
            // (measured: with a key component shared by every position, as real models have, the tile row drifted
            // from the decode kernel's by 2e-4 of max|v| at head_dim 64, and SmolLM2's logits with it).
#pragma unroll
            for (int n = 0; n < kChunk / 8; ++n) {
                const __half* kr = k_h + (8 * n + g) * S::kQK + 2 * t + 16 * kk;
                float part[4] = {0.0f, 0.0f, 0.0f, 0.0f};
                mma_f16(part, qf, lds32(kr), lds32(kr + 8));
                s[n][0] += part[0], s[n][1] += part[1], s[n][2] += part[2], s[n][3] += part[3];
            }
        }
        float mx[2] = {-INFINITY, -INFINITY};
#pragma unroll
        for (int n = 0; n < kChunk / 8; ++n)
#pragma unroll
            for (int e = 0; e < 4; ++e) {
                const int h = e / 2;
                const int32_t pos = c0 + 8 * n + 2 * t + e % 2;
                const bool visible = pos < hi && pos >= first[h] && pos <= own[h];
                s[n][e] = visible ? finish_score(s[n][e], a.shape.scale, a.shape.softcap) : -INFINITY;
                mx[h] = fmaxf(mx[h], s[n][e]);
            }
        float alpha[2], sum[2] = {0.0f, 0.0f};
#pragma unroll
        for (int h = 0; h < 2; ++h) {
            const float m_new = fmaxf(m[h], quad_max(mx[h]));
            const float base = m_new == -INFINITY ? 0.0f : m_new;  // a row that has seen only -inf: p = 0
            alpha[h] = expf(m[h] - base);
            m[h] = m_new;
#pragma unroll
            for (int n = 0; n < kChunk / 8; ++n) {
                s[n][2 * h] = expf(s[n][2 * h] - base);
                s[n][2 * h + 1] = expf(s[n][2 * h + 1] - base);
                sum[h] += s[n][2 * h] + s[n][2 * h + 1];
            }
            l[h] = l[h] * alpha[h] + quad_sum(sum[h]);
        }
#pragma unroll
        for (int n = 0; n < kN; ++n) {
            o[n][0] *= alpha[0], o[n][1] *= alpha[0];
            o[n][2] *= alpha[1], o[n][3] *= alpha[1];
        }
        // P (fp16-rounded) as A fragments: 8-position tiles 2c and 2c + 1 make k-step c.
#pragma unroll
        for (int c = 0; c < kChunk / 16; ++c) {
            const uint32_t pa[4] = {pack_half2(s[2 * c][0], s[2 * c][1]), pack_half2(s[2 * c][2], s[2 * c][3]),
                                    pack_half2(s[2 * c + 1][0], s[2 * c + 1][1]),
                                    pack_half2(s[2 * c + 1][2], s[2 * c + 1][3])};
#pragma unroll
            for (int n = 0; n < kN; ++n) {
                const __half* vr = vt_h + (8 * n + g) * S::kVT + 16 * c + 2 * t;
                mma_f16(o[n], pa, lds32(vr), lds32(vr + 8));
            }
        }
    }

    if (!active) return;
    if (so.n_splits > 1) {
#pragma unroll
        for (int h = 0; h < 2; ++h) {
            const int r = r0 + g + 8 * h;
            if (r >= n_rows) continue;
            const size_t unit = (size_t(ta + r / G) * a.shape.n_kv_heads + kvh) * so.n_splits + blockIdx.z;
            const size_t at = unit * G + r % G;
            float* acc = so.part_acc + at * kDim;
#pragma unroll
            for (int n = 0; n < kN; ++n) {
                acc[8 * n + 2 * t] = o[n][2 * h];
                acc[8 * n + 2 * t + 1] = o[n][2 * h + 1];
            }
            if (t == 0) so.part_ml[at * 2] = m[h], so.part_ml[at * 2 + 1] = l[h];
        }
        return;
    }
#pragma unroll
    for (int h = 0; h < 2; ++h) {
        const int r = r0 + g + 8 * h;
        if (r >= n_rows) continue;
        // o / l, as combine_value of a lone split gives: a token's output has the same bits split or not.
        const float lh = l[h];
        float* out = a.out + int64_t(ta + r / G) * a.out_stride + int64_t(kvh * G + r % G) * kDim;
#pragma unroll
        for (int n = 0; n < kN; ++n) {
            out[8 * n + 2 * t] = lh > 0.0f ? o[n][2 * h] / lh : 0.0f;
            out[8 * n + 2 * t + 1] = lh > 0.0f ? o[n][2 * h + 1] / lh : 0.0f;
        }
    }
}

template <int kDim>
__global__ void __launch_bounds__(kThreads) prefill_mma_kernel(AttentionArgs a, int tile_tokens, SplitOut so) {
    grid_dependency_sync();
    using S = Smem<kDim>;
    extern __shared__ uint4 smem16[];
    __half* q_h = reinterpret_cast<__half*>(smem16);
    __half* k_h = q_h + kRows * S::kQK;
    __half* vt_h = k_h + S::kChunk * S::kQK;
    auto* range_s = reinterpret_cast<int32_t*>(vt_h + kDim * S::kVT);
    for_each_prefill_sub_tile(a, tile_tokens, [&](int ta, int tb) {
        attend_sub_tile_mma<kDim>(a, ta, tb, q_h, k_h, vt_h, range_s, so);
    });
}

template <int kDim>
void launch(const AttentionArgs& a, const SplitOut& so, cudaStream_t stream) {
    const int G = a.shape.n_heads / a.shape.n_kv_heads;
    const int tile_tokens = kRows / G;  // >= 1: prefill_mma_takes checked G
    const size_t smem = Smem<kDim>::kBytes;
    HOTROD_CUDA_CHECK(
        cudaFuncSetAttribute(prefill_mma_kernel<kDim>, cudaFuncAttributeMaxDynamicSharedMemorySize, int(smem)));
    const dim3 grid(unsigned((a.layout.n_tokens + tile_tokens - 1) / tile_tokens), unsigned(a.shape.n_kv_heads),
                    unsigned(so.n_splits));
    launch_kernel(prefill_mma_kernel<kDim>, grid, kThreads, smem, stream, a, tile_tokens, so);
}

// Blocks wanted in flight per SM before positions are split (3 fit at head_dim 256: 70 KiB of shared memory each),
// the fewest chunks a split walks (its staging and rebasing are then a small part of its time), and a cap.
constexpr int kBlocksPerSm = 4;
constexpr int kMinChunksPerSplit = 8;
constexpr int kMaxSplits = 16;
// Batch-invariant splits: positions per split (a whole number of chunks at every head_dim).
constexpr int kSplitSpan = 1024;

}  // namespace

int prefill_split_span(int n_heads, int n_kv_heads, int head_dim, quant::DType cache_type) {
    static const bool off = switch_off("HOTROD_CUDA_ATTN_SPLIT") || switch_off("HOTROD_CUDA_MMA");
    const int G = n_kv_heads > 0 ? n_heads / n_kv_heads : 0;
    if (off || cache_type != quant::DType::F16 || (head_dim != 64 && head_dim != 128 && head_dim != 256) || G < 1 ||
        G > kRows)
        return 0;
    static_assert(kSplitSpan % chunk_for(64) == 0 && kSplitSpan % chunk_for(256) == 0, "whole chunks");
    return kSplitSpan;
}

int prefill_splits(int n_tokens, int n_heads, int n_kv_heads, int head_dim, quant::DType cache_type, int max_kv_len,
                   int n_sms) {
    static const bool off = switch_off("HOTROD_CUDA_ATTN_SPLIT") || switch_off("HOTROD_CUDA_MMA");
    const int G = n_kv_heads > 0 ? n_heads / n_kv_heads : 0;
    if (off || cache_type != quant::DType::F16 || (head_dim != 64 && head_dim != 128 && head_dim != 256) || G < 1 ||
        G > kRows || n_tokens <= kDecodeMaxSeqTokens)
        return 1;
    const int tile_tokens = kRows / G;
    const int64_t blocks = int64_t((n_tokens + tile_tokens - 1) / tile_tokens) * n_kv_heads;
    const int64_t wanted = int64_t(kBlocksPerSm) * std::max(n_sms, 1);
    if (blocks >= wanted) return 1;
    const int64_t by_work = (wanted + blocks - 1) / blocks;
    const int64_t by_len = max_kv_len / (chunk_for(head_dim) * kMinChunksPerSplit);
    const int64_t n = std::max<int64_t>(1, std::min<int64_t>({by_work, by_len, kMaxSplits}));
    int pow2 = 1;  // a power of two, as the decode split: few distinct launch shapes over a context
    while (pow2 * 2 <= n) pow2 *= 2;
    return pow2;
}

size_t prefill_scratch_floats(int n_tokens, const AttentionShape& shape, int n_splits) {
    if (n_splits <= 1) return 0;
    return size_t(n_tokens) * shape.n_heads * n_splits * (size_t(shape.head_dim) + 2);
}

bool prefill_mma_takes(const AttentionArgs& a) {
    const int G = a.shape.n_kv_heads > 0 ? a.shape.n_heads / a.shape.n_kv_heads : 0;
    const auto aligned = [](const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; };
    const int D = a.shape.head_dim;
    return a.type == quant::DType::F16 && (D == 64 || D == 128 || D == 256) && G >= 1 &&
           G <= kRows && aligned(a.k) && aligned(a.v);  // 16-byte staging loads
}

void launch_attention_prefill_mma(const AttentionArgs& a, int n_splits, float* scratch, cudaStream_t stream) {
    SplitOut so{n_splits > 1 && scratch != nullptr ? n_splits : 1, a.prefill_span, nullptr, nullptr};
    if (so.n_splits > 1) {
        so.part_acc = scratch;
        so.part_ml = scratch + size_t(a.layout.n_tokens) * a.shape.n_heads * so.n_splits * a.shape.head_dim;
    }
    if (a.shape.head_dim == 64) launch<64>(a, so, stream);
    else if (a.shape.head_dim == 128) launch<128>(a, so, stream);
    else launch<256>(a, so, stream);
    if (so.n_splits > 1) launch_attention_combine(a, so.n_splits, so.part_acc, so.part_ml, true, stream);
}

}  // namespace hotrod::cuda::attn
