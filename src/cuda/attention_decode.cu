// Flash-decoding: attention for tokens whose sequence has few query tokens in the batch (attn::is_decode_token).
// Grid (token, KV head, split): each block takes one token's G = n_heads / n_kv_heads query heads of one KV head
// over one split of the token's visible positions, so each K/V row it reads serves all G heads. Inside a block
// the 4 warps take interleaved chunks of 32 positions: a lane computes the G scores of its position (its own K
// row, 16-byte loads), the warp keeps an online softmax per head, then every lane accumulates its head_dim / 32
// output columns over the chunk's V rows (coalesced; an F16 cache at head_dim 64/128/256 reads V 16 bytes a
// lane instead, 8 columns a lane: add_v_vec). The warps' states merge in shared memory; with one split
// that is the output, else a partial (max, sum, unnormalised output) that combine_kernel merges by log-sum-exp.
#include <algorithm>
#include <stdexcept>
#include <string>

#include "cuda/attention_common.cuh"
#include "cuda/check.h"
#include "cuda/launch.cuh"
#include "cuda/quantize_q8_k.cuh"
#include "cuda/switches.h"

namespace hotrod::cuda::attn {

namespace {

constexpr int kWarps = 4;
constexpr int kThreads = 32 * kWarps;
// A split spans at least this many positions (a chunk for half the warps), and there are at most kMaxSplits. Half,
// not one chunk per warp: a decode step of one sequence has only n_kv_heads x splits blocks, and at the published
// workload's ~500 positions whole-warp splits left 16 blocks on a 132-SM card, each walking its positions in two
// rounds.
static_assert(kDecodeMinSplitPositions == 32 * kWarps / 2, "a split's least positions: half the warps' chunks");
constexpr int kMaxSplits = 64;
// Blocks wanted in flight per SM before positions are split: memory-bound blocks of 4 warps need several per SM
// to keep enough loads outstanding.
constexpr int kBlocksPerSm = 4;

// Dot of this lane's K row (head g of cache row `row`) with each of the G query heads in q_s (G x kDim floats).
template <quant::DType kType, int kDim, int kGMax>
__device__ __forceinline__ void k_scores(const uint8_t* k_cache, size_t row_bytes, int32_t row, int g, int G,
                                         const float* q_s, float (&s)[kGMax]) {
    const float4* q4 = reinterpret_cast<const float4*>(q_s);
#pragma unroll
    for (int h = 0; h < kGMax; ++h) s[h] = 0.0f;
    if constexpr (kType == quant::DType::F16) {
        // The head's kDim halves are 16-byte aligned: row_bytes and g * kDim * 2 are multiples of 64.
        const uint4* kp = reinterpret_cast<const uint4*>(k_cache + size_t(row) * row_bytes + size_t(g) * (kDim * 2));
#pragma unroll
        for (int i = 0; i < kDim / 8; ++i) {
            const uint4 w = kp[i];
            const float2 k01 = __half22float2(*reinterpret_cast<const __half2*>(&w.x));
            const float2 k23 = __half22float2(*reinterpret_cast<const __half2*>(&w.y));
            const float2 k45 = __half22float2(*reinterpret_cast<const __half2*>(&w.z));
            const float2 k67 = __half22float2(*reinterpret_cast<const __half2*>(&w.w));
#pragma unroll
            for (int h = 0; h < kGMax; ++h) {
                if (h < G) {
                    const float4 a = q4[(h * kDim) / 4 + 2 * i];
                    const float4 b = q4[(h * kDim) / 4 + 2 * i + 1];
                    s[h] += a.x * k01.x + a.y * k01.y + a.z * k23.x + a.w * k23.y + b.x * k45.x + b.y * k45.y +
                            b.z * k67.x + b.w * k67.y;
                }
            }
        }
    } else {
        // Q8_0 blocks sit at 2-byte alignment: codes read as 16-bit pairs. Per block: sum q * code, times the scale.
        const uint8_t* kb = k_cache + size_t(row) * row_bytes + size_t(g) * (kDim / 32) * kQ8Bytes;
#pragma unroll
        for (int c = 0; c < kDim / 32; ++c) {
            const uint8_t* blk = kb + c * kQ8Bytes;
            const float d = half_bits_to_float(load_u16(blk));
            float part[kGMax];
#pragma unroll
            for (int h = 0; h < kGMax; ++h) part[h] = 0.0f;
#pragma unroll
            for (int w4 = 0; w4 < 8; ++w4) {
                const int word = load_i32_a2(blk + 2 + 4 * w4);
                const float c0 = float(int8_t(word)), c1 = float(int8_t(word >> 8));
                const float c2 = float(int8_t(word >> 16)), c3 = float(int8_t(word >> 24));
#pragma unroll
                for (int h = 0; h < kGMax; ++h) {
                    if (h < G) {
                        const float4 a = q4[(h * kDim + 32 * c) / 4 + w4];
                        part[h] += a.x * c0 + a.y * c1 + a.z * c2 + a.w * c3;
                    }
                }
            }
#pragma unroll
            for (int h = 0; h < kGMax; ++h) s[h] += d * part[h];
        }
    }
}

// The 16-byte V path (HOTROD_CUDA_ATTN_VEC=0 keeps the element path): an F16 cache at a head_dim whose head is a
// whole number of 16-byte words per lane group (kDim / 8 lanes a row).
template <quant::DType kType, int kDim>
constexpr bool vec_v_fits() {
    return kType == quant::DType::F16 && (kDim == 64 || kDim == 128 || kDim == 256);
}

__device__ __forceinline__ void halves8_to_float(const uint4& w, float (&f)[8]) {
    const unsigned words[4] = {w.x, w.y, w.z, w.w};
#pragma unroll
    for (int i = 0; i < 4; ++i) {
        const float2 v = __half22float2(*reinterpret_cast<const __half2*>(&words[i]));
        f[2 * i] = v.x;
        f[2 * i + 1] = v.y;
    }
}

// One chunk's V rows (row j held by lane j, its weight p[h] too) into acc, 16 bytes a load: kDim / 8 lanes cover a
// row's head, so one load instruction takes 32 / (kDim / 8) rows, and 8 loads go out before their FMAs (two
// rounds at head_dim 128, where the element path takes four, with an eighth of its load instructions). A lane
// sums its rows for 8 columns, 8 (lane % (kDim / 8)) on; reduce_v_vec adds the lanes sharing those columns.
template <int kDim, int kGMax>
__device__ __forceinline__ void add_v_vec(const uint8_t* v_cache, size_t row_bytes, int g, int32_t row,
                                          const float (&p)[kGMax], int G, int n_valid, int lane,
                                          float (&acc)[kGMax][8]) {
    constexpr int kLanesPerRow = kDim / 8, kRowsPerLoad = 32 / kLanesPerRow, kLoads = 8;
    const int sub = lane / kLanesPerRow;
    const size_t col_bytes = size_t(g) * kDim * 2 + size_t(16 * (lane % kLanesPerRow));
    for (int j0 = 0; j0 < n_valid; j0 += kLoads * kRowsPerLoad) {  // j0 + 7 * kRowsPerLoad + sub stays < 32
        uint4 w[kLoads];
#pragma unroll
        for (int i = 0; i < kLoads; ++i) {
            const int32_t row_j = __shfl_sync(kFullMask, row, j0 + i * kRowsPerLoad + sub);
            w[i] = *reinterpret_cast<const uint4*>(v_cache + size_t(row_j) * row_bytes + col_bytes);
        }
#pragma unroll
        for (int i = 0; i < kLoads; ++i) {
            float vf[8];
            halves8_to_float(w[i], vf);
#pragma unroll
            for (int h = 0; h < kGMax; ++h) {
                if (h < G) {
                    const float pj = __shfl_sync(kFullMask, p[h], j0 + i * kRowsPerLoad + sub);
#pragma unroll
                    for (int c = 0; c < 8; ++c) acc[h][c] += pj * vf[c];
                }
            }
        }
    }
}

// The lanes holding the same 8 columns (kDim / 8 apart) summed: every lane then holds its columns' total.
template <int kDim, int kGMax>
__device__ __forceinline__ void reduce_v_vec(float (&acc)[kGMax][8]) {
#pragma unroll
    for (int off = kDim / 8; off < 32; off *= 2) {
#pragma unroll
        for (int h = 0; h < kGMax; ++h) {
#pragma unroll
            for (int c = 0; c < 8; ++c) acc[h][c] += __shfl_xor_sync(kFullMask, acc[h][c], off);
        }
    }
}

// Columns [col0, col0 + n) of token t's output row (n and col0 multiples of 256), staged in shared memory at src,
// into a.act_q as Q8_K blocks: a warp a block (quantize_row_q8_k_ref's bytes).
__device__ __forceinline__ void store_act_q8_k(const AttentionArgs& a, int t, int col0, const float* src, int n,
                                               int warp, int n_warps, int lane) {
    auto* row = reinterpret_cast<quant::BlockQ8_K*>(static_cast<uint8_t*>(a.act_q) + size_t(t) * a.act_row_bytes);
    for (int b = warp; b < n / quant::QK_K; b += n_warps)
        quantize_q8_k_block(src + quant::QK_K * b, row + col0 / quant::QK_K + b, lane);
}

// Shared memory (floats): q_s [G][kDim], then each warp's accumulators [kWarps][G][kDim], then its (max, sum)
// [kWarps][G][2]. At G 8, head_dim 256: 41 KiB, inside the default 48 KiB.
__host__ __device__ constexpr size_t decode_smem_floats(int G, int dim) {
    return size_t(G) * dim * (1 + kWarps) + size_t(kWarps) * G * 2;
}

template <quant::DType kType, int kDim, int kGMax, bool kVec>
__global__ void __launch_bounds__(kThreads) decode_kernel(AttentionArgs a, int n_splits, float* part_acc,
                                                          float* part_ml) {
    static_assert(!kVec || vec_v_fits<kType, kDim>(), "the 16-byte V path needs an F16 head of 64, 128 or 256");
    // Output columns a lane accumulates: lane, lane + 32, .. on the element path; 8 on the 16-byte path.
    constexpr int kCols = kVec ? 8 : kDim / 32;
    // V rows loaded before their FMAs: enough bytes in flight per warp without spilling (32 floats of registers).
    constexpr int kRowsInFlight = kCols > 4 ? 4 : kCols > 2 ? 8 : 16;
    // Before the wait, only what the step's host upload wrote (the layout) is read: the previous kernel may still
    // be writing q and this step's K/V rows.
    const DeviceKvLayout& L = a.layout;
    const int t = int(blockIdx.x), g = int(blockIdx.y), split = int(blockIdx.z);
    if (!takes_decode(a, t)) return;
    // The token's own split count: blocks past it have nothing to do (and their partials are never read).
    const int n_used = decode_splits_of(a, t, n_splits);
    if (split >= n_used) return;
    const int G = a.shape.n_heads / a.shape.n_kv_heads;
    const int lane = int(threadIdx.x) % 32, warp = int(threadIdx.x) / 32;
    const size_t row_bytes = kv_row_bytes<kType>(a.shape.n_kv_heads, kDim);
    const int32_t seq = L.token_seq[t];
    int32_t first = 0, end = 0;
    visible_range(L.positions[t], a.shape.window, first, end);
    const int32_t per_split = (end - first + n_used - 1) / n_used;
    const int32_t span_begin = min(end, first + split * per_split);
    const int32_t span_end = min(end, span_begin + per_split);
    // The span's K and V heads asked of L2 while the previous kernel finishes: the first K loads and every V
    // round trip below then wait on L2, not memory. (A row the previous kernel is writing may be fetched early:
    // L2 is where its write lands, so the loads after the wait still see it.)
    if (a.prefetch) {
        for (int32_t pos = span_begin + int32_t(threadIdx.x); pos < span_end; pos += kThreads) {
            const size_t off = size_t(kv_row(L, seq, pos)) * row_bytes + size_t(g) * kv_head_bytes<kType>(kDim);
            prefetch_l2(a.k + off, kv_head_bytes<kType>(kDim));
            prefetch_l2(a.v + off, kv_head_bytes<kType>(kDim));
        }
    }
    grid_dependency_sync();

    extern __shared__ float4 smem4[];
    float* q_s = reinterpret_cast<float*>(smem4);
    float* acc_s = q_s + G * kDim;
    float* ml_s = acc_s + kWarps * G * kDim;
    // This token's G query heads of group g are contiguous in its q row.
    const float* q = a.q + int64_t(t) * a.q_stride + int64_t(g) * G * kDim;
    for (int e = int(threadIdx.x); e < G * kDim; e += kThreads) q_s[e] = round_fp16(q[e]);
    __syncthreads();

    float m[kGMax], l[kGMax], acc[kGMax][kCols];
#pragma unroll
    for (int h = 0; h < kGMax; ++h) {
        m[h] = -INFINITY;
        l[h] = 0.0f;
#pragma unroll
        for (int c = 0; c < kCols; ++c) acc[h][c] = 0.0f;
    }

    for (int32_t c0 = span_begin + 32 * warp; c0 < span_end; c0 += 32 * kWarps) {
        const int32_t pos = c0 + lane;
        const bool valid = pos < span_end;
        const int32_t row = kv_row(L, seq, valid ? pos : c0);  // past the span: read a valid row, mask its score
        prefetch_l2(a.v + size_t(row) * row_bytes + size_t(g) * kv_head_bytes<kType>(kDim), kv_head_bytes<kType>(kDim));
        float s[kGMax], p[kGMax];
        k_scores<kType, kDim, kGMax>(a.k, row_bytes, row, g, G, q_s, s);
#pragma unroll
        for (int h = 0; h < kGMax; ++h) {
            if (h < G) {
                const float sc = valid ? finish_score(s[h], a.shape.scale, a.shape.softcap) : -INFINITY;
                float alpha = 0.0f;
                p[h] = round_fp16(online_softmax_step(sc, m[h], l[h], alpha));  // l sums it unrounded
#pragma unroll
                for (int c = 0; c < kCols; ++c) acc[h][c] *= alpha;
            }
        }
        // V: a batch of rows' loads issued together, then their FMAs (kRowsInFlight rows on the element path).
        // Lanes past the span hold a valid row and p = 0, so a batch may run past n_valid.
        const int n_valid = min(32, int(span_end - c0));
        if constexpr (kVec) {
            add_v_vec<kDim, kGMax>(a.v, row_bytes, g, row, p, G, n_valid, lane, acc);
        } else {
            for (int j0 = 0; j0 < n_valid; j0 += kRowsInFlight) {
                float v[kRowsInFlight][kCols];
#pragma unroll
                for (int jj = 0; jj < kRowsInFlight; ++jj) {
                    const int32_t row_j = __shfl_sync(kFullMask, row, j0 + jj);
#pragma unroll
                    for (int c = 0; c < kCols; ++c) v[jj][c] = load_elem<kType, kDim>(a.v, row_bytes, row_j, g, c, lane);
                }
#pragma unroll
                for (int jj = 0; jj < kRowsInFlight; ++jj) {
#pragma unroll
                    for (int h = 0; h < kGMax; ++h) {
                        if (h < G) {
                            const float pj = __shfl_sync(kFullMask, p[h], j0 + jj);
#pragma unroll
                            for (int c = 0; c < kCols; ++c) acc[h][c] += pj * v[jj][c];
                        }
                    }
                }
            }
        }
    }

    if constexpr (kVec) reduce_v_vec<kDim, kGMax>(acc);
#pragma unroll
    for (int h = 0; h < kGMax; ++h) {
        if (h < G) {
#pragma unroll
            for (int c = 0; c < kCols; ++c) {
                if constexpr (kVec) {
                    if (lane < kDim / 8) acc_s[(warp * G + h) * kDim + 8 * lane + c] = acc[h][c];
                } else {
                    acc_s[(warp * G + h) * kDim + 32 * c + lane] = acc[h][c];
                }
            }
            if (lane == 0) {
                ml_s[(warp * G + h) * 2] = m[h];
                ml_s[(warp * G + h) * 2 + 1] = l[h];
            }
        }
    }
    __syncthreads();

    // Merge the warps (a warp that saw no position has m = -inf and weighs nothing).
    const size_t unit = (size_t(t) * a.shape.n_kv_heads + g) * n_splits + split;
    for (int e = int(threadIdx.x); e < G * kDim; e += kThreads) {
        const int h = e / kDim, d = e % kDim;
        float m_all = -INFINITY;
        for (int w = 0; w < kWarps; ++w) m_all = fmaxf(m_all, ml_s[(w * G + h) * 2]);
        float sum = 0.0f, o = 0.0f;
        for (int w = 0; w < kWarps; ++w) {
            const float mw = ml_s[(w * G + h) * 2];
            if (mw == -INFINITY) continue;
            const float f = expf(mw - m_all);
            sum += f * ml_s[(w * G + h) * 2 + 1];
            o += f * acc_s[(w * G + h) * kDim + d];
        }
        if (n_used == 1) {  // the output itself: combine_value of one split gives the same bits
            const float v = sum > 0.0f ? o / sum : 0.0f;
            a.out[int64_t(t) * a.out_stride + int64_t(g * G + h) * kDim + d] = v;
            if (a.act_q != nullptr) q_s[e] = v;  // q_s is free: every warp left the chunk loop before the merge
        } else {
            part_acc[(unit * G + h) * kDim + d] = o;
            if (d == 0) {
                part_ml[(unit * G + h) * 2] = m_all;
                part_ml[(unit * G + h) * 2 + 1] = sum;
            }
        }
    }
    if (n_used == 1 && a.act_q != nullptr) {
        __syncthreads();
        store_act_q8_k(a, t, g * G * kDim, q_s, G * kDim, warp, kWarps, lane);
    }
}

// Output column d of head `head` of token t from its first n_used splits (of a launch with n_splits): sum_i
// e^(m_i - M) o_i / sum_i e^(m_i - M) l_i (an empty split has m_i = -inf and weighs nothing). With one non-empty
// split this is o / l exactly (e^0 = 1, adding zeros changes nothing): the unsplit kernels' own o / l.
__device__ __forceinline__ float combine_value(const AttentionArgs& a, int n_splits, int n_used, const float* part_acc,
                                              const float* part_ml, int t, int head, int d) {
    const int G = a.shape.n_heads / a.shape.n_kv_heads, dim = a.shape.head_dim;
    const int g = head / G, h = head % G;
    const size_t unit0 = (size_t(t) * a.shape.n_kv_heads + g) * n_splits;
    float m_all = -INFINITY;
    for (int i = 0; i < n_used; ++i) m_all = fmaxf(m_all, part_ml[((unit0 + i) * G + h) * 2]);
    float sum = 0.0f, o = 0.0f;
    for (int i = 0; i < n_used; ++i) {
        const size_t u = (unit0 + i) * G + h;
        const float mi = part_ml[u * 2];
        if (mi == -INFINITY) continue;
        const float f = expf(mi - m_all);
        sum += f * part_ml[u * 2 + 1];
        o += f * part_acc[u * dim + d];
    }
    return sum > 0.0f ? o / sum : 0.0f;
}

// Block (token, head), a thread per output column (combine_value). Tokens of the other kernel are left alone.
__global__ void combine_kernel(AttentionArgs a, int n_splits, const float* part_acc, const float* part_ml,
                               bool prefill_tokens) {
    grid_dependency_sync();
    const int t = int(blockIdx.x), head = int(blockIdx.y), d = int(threadIdx.x);
    if (takes_decode(a, t) == prefill_tokens) return;
    const int n_used = prefill_tokens ? n_splits : decode_splits_of(a, t, n_splits);
    if (n_used == 1 && !prefill_tokens) return;  // the decode kernel wrote it
    a.out[int64_t(t) * a.out_stride + int64_t(head) * a.shape.head_dim + d] =
        combine_value(a, n_splits, n_used, part_acc, part_ml, t, head, d);
}

// combine_kernel for decode tokens whose rows also go to a.act_q: block (token, 256 columns of its row), a thread a
// column, then one warp quantizes the 256 into the row's Q8_K block.
__global__ void __launch_bounds__(quant::QK_K)
    combine_quant_kernel(AttentionArgs a, int n_splits, const float* part_acc, const float* part_ml) {
    grid_dependency_sync();
    __shared__ float4 vals4[quant::QK_K / 4];
    float* vals = reinterpret_cast<float*>(vals4);
    const int t = int(blockIdx.x), col = int(blockIdx.y) * quant::QK_K + int(threadIdx.x);
    if (!takes_decode(a, t)) return;
    const int n_used = decode_splits_of(a, t, n_splits);
    if (n_used == 1) return;  // the decode kernel wrote it, and its Q8_K row
    const int dim = a.shape.head_dim;
    const float v = combine_value(a, n_splits, n_used, part_acc, part_ml, t, col / dim, col % dim);
    a.out[int64_t(t) * a.out_stride + col] = v;
    vals[threadIdx.x] = v;
    __syncthreads();
    if (threadIdx.x < 32) store_act_q8_k(a, t, int(blockIdx.y) * quant::QK_K, vals, quant::QK_K, 0, 1, int(threadIdx.x));
}

bool vec_v_on() {
    static const bool on = !switch_off("HOTROD_CUDA_ATTN_VEC");
    return on;
}

template <quant::DType kType, int kDim, int kGMax>
void launch(const AttentionArgs& a, int n_splits, float* part_acc, float* part_ml, cudaStream_t stream) {
    const int G = a.shape.n_heads / a.shape.n_kv_heads;
    const dim3 grid(unsigned(a.layout.n_tokens), unsigned(a.shape.n_kv_heads), unsigned(n_splits));
    const size_t smem = decode_smem_floats(G, kDim) * sizeof(float);
    if constexpr (vec_v_fits<kType, kDim>()) {
        if (vec_v_on()) {
            launch_kernel(decode_kernel<kType, kDim, kGMax, true>, grid, kThreads, smem, stream, a, n_splits,
                          part_acc, part_ml);
            return;
        }
    }
    launch_kernel(decode_kernel<kType, kDim, kGMax, false>, grid, kThreads, smem, stream, a, n_splits, part_acc,
                  part_ml);
}

template <quant::DType kType, int kDim>
void launch_group(const AttentionArgs& a, int n_splits, float* part_acc, float* part_ml, cudaStream_t stream) {
    const int G = a.shape.n_heads / a.shape.n_kv_heads;
    if (G <= 1) launch<kType, kDim, 1>(a, n_splits, part_acc, part_ml, stream);
    else if (G <= 2) launch<kType, kDim, 2>(a, n_splits, part_acc, part_ml, stream);
    else if (G <= 4) launch<kType, kDim, 4>(a, n_splits, part_acc, part_ml, stream);
    else launch<kType, kDim, 8>(a, n_splits, part_acc, part_ml, stream);
}

template <quant::DType kType>
void launch_dim(const AttentionArgs& a, int n_splits, float* part_acc, float* part_ml, cudaStream_t stream) {
    switch (a.shape.head_dim) {
        case 32: return launch_group<kType, 32>(a, n_splits, part_acc, part_ml, stream);
        case 64: return launch_group<kType, 64>(a, n_splits, part_acc, part_ml, stream);
        case 96: return launch_group<kType, 96>(a, n_splits, part_acc, part_ml, stream);
        case 128: return launch_group<kType, 128>(a, n_splits, part_acc, part_ml, stream);
        case 160: return launch_group<kType, 160>(a, n_splits, part_acc, part_ml, stream);
        case 192: return launch_group<kType, 192>(a, n_splits, part_acc, part_ml, stream);
        case 224: return launch_group<kType, 224>(a, n_splits, part_acc, part_ml, stream);
        case 256: return launch_group<kType, 256>(a, n_splits, part_acc, part_ml, stream);
        default: break;
    }
    throw std::invalid_argument("cuda attention (decode): head_dim " + std::to_string(a.shape.head_dim) +
                                " (a multiple of 32 up to 256)");
}

}  // namespace

namespace {

// The most splits a launch of `units` (token, KV head) blocks gives each: as many as put kBlocksPerSm blocks on
// every SM, at most kMaxSplits.
int split_cap(int64_t units, int n_sms) {
    const int64_t wanted = int64_t(kBlocksPerSm) * std::max(n_sms, 1);
    return int(std::min<int64_t>((wanted + units - 1) / units, kMaxSplits));
}

}  // namespace

int decode_splits(int n_tokens, int n_kv_heads, int max_kv_len, int n_sms) {
    const int64_t units = int64_t(n_tokens) * n_kv_heads;  // an upper bound: some tokens may be prefill's
    if (units <= 0) return 1;
    return token_splits(max_kv_len, split_cap(units, n_sms));
}

int decode_split_cap(int n_kv_heads, int n_sms) { return split_cap(std::max(n_kv_heads, 1), n_sms); }

size_t decode_scratch_floats(int n_tokens, const AttentionShape& shape, int n_splits) {
    if (n_splits <= 1) return 0;
    return size_t(n_tokens) * shape.n_heads * n_splits * (size_t(shape.head_dim) + 2);
}

void launch_attention_decode(const AttentionArgs& a, int n_splits, float* scratch, cudaStream_t stream) {
    float* part_acc = scratch;
    float* part_ml = n_splits > 1 ? scratch + size_t(a.layout.n_tokens) * a.shape.n_heads * n_splits * a.shape.head_dim
                                  : nullptr;
    if (a.type == quant::DType::F16) launch_dim<quant::DType::F16>(a, n_splits, part_acc, part_ml, stream);
    else launch_dim<quant::DType::Q8_0>(a, n_splits, part_acc, part_ml, stream);
    if (n_splits > 1 && a.act_q != nullptr) {
        const dim3 grid(unsigned(a.layout.n_tokens), unsigned(a.shape.n_heads * a.shape.head_dim / quant::QK_K));
        launch_kernel(combine_quant_kernel, grid, unsigned(quant::QK_K), 0, stream, a, n_splits,
                      static_cast<const float*>(part_acc), static_cast<const float*>(part_ml));
    } else if (n_splits > 1) {
        launch_attention_combine(a, n_splits, part_acc, part_ml, false, stream);
    }
}

void launch_attention_combine(const AttentionArgs& a, int n_splits, const float* part_acc, const float* part_ml,
                              bool prefill_tokens, cudaStream_t stream) {
    const dim3 grid(unsigned(a.layout.n_tokens), unsigned(a.shape.n_heads));
    launch_kernel(combine_kernel, grid, unsigned(a.shape.head_dim), 0, stream, a, n_splits, part_acc, part_ml,
                  prefill_tokens);
}

}  // namespace hotrod::cuda::attn
