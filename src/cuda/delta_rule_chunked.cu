// The gated delta rule on the GPU, chunked form, for prefill (the math is derived in the header of
// src/cpu/ops_delta_rule_chunked.cpp): a run's tokens go in chunks of kChunk, each chunk a few small matrix products
// in shared memory instead of kChunk dependent steps. Column j of the state, of u and of o depends only on column j
// of v and of S0 (the chunk's k.k and q.k products are shared), so a block owns kCols value columns of one
// (sequence, value head) and keeps its slice of S in shared memory for the whole run: grid (head_dim / kCols, value
// heads, sequences), kThreads threads. Runs takes_chunked leaves out (short decode runs) are the recurrent kernel's
// (delta_rule.cu), the choice made per run from its own length and kind, so a sequence's bits never depend on the
// rest of the batch.
// Per chunk: q, k rows L2-normalised as the recurrent kernel does (a warp per row); G, the cumulative log decay, by a
// double scan (every exponent is G_t - G_s with s <= t, rounded to float once, so <= 0: nothing overflows);
// A = beta_t e^{G_t-G_s} k_t.k_s (s < t), P = e^{G_t-G_s} q_t.k_s (s <= t), S0^T k, S0^T q by register tiles fed by
// float4 loads; u by forward substitution (one warp, a lane per column, the column in registers; the other products
// are cheap enough that this warp's ~2k dependent FMAs are not worth overlapping yet); o, then
// S = e^{G_C} S0 + sum_s e^{G_C-G_s} k_s u_s^T. Chunks start at the run's first token (not at positions that are
// multiples of 64, as the CPU's do). A snapshot inside a chunk is that formula cut at its token, written beside the
// chunk without cutting it, so outputs and states have the same bits with or without snapshots.
// Numerics: FP32 FMAs throughout (the CPU's chunked float kernel, within 2e-5 of the double reference, reorders the
// same way). No tensor cores: tf32's 10-bit mantissa puts ~1e-3 errors into k.k, 50x the tests' bound, and 3xTF32
// is not worth its code while this kernel is a small part of a prefill step.
// Measured on an H100 (Qwen3.5-4B's 16 / 32 heads of 128): 212 us for one 512-token run against the recurrent
// kernel's 412, 0.41 us a token at any length from 64 (the recurrent kernel: 0.8 alone, 0.55 with 4 sequences),
// ~29 us a chunk, about twice what its multiply-adds need at full FP32 rate: not yet profiled.
#include <stdexcept>
#include <string>

#include "cuda/launch.cuh"
#include "cuda/recurrent.h"

namespace hotrod::cuda {

namespace {

constexpr int kChunk = 64;  // tokens per chunk: the G scan below takes two per lane
static_assert(kChunk == kDeltaChunkTokens, "recurrent.h says the chunk's length to the backend");
constexpr int kCols = 32;   // value columns per block: one per lane in the loads, the substitution and the outputs
constexpr int kWarps = 8;
constexpr int kThreads = kWarps * 32;
constexpr unsigned kFull = 0xffffffffu;

// Rows of q, k and S padded by 4 floats: rows stay 16-byte aligned for float4 loads, and the tiles' row reads land
// in distinct bank groups. 146,432 bytes at head_dim 128, 105,472 at 64 (one block an SM either way: ptxas gives
// 239 / 187 registers a thread at 256 threads, no spills).
template <int D>
struct Smem {
    alignas(16) float q[kChunk][D + 4];      // chunk rows: scale * q (normalised); zero past the chunk's tokens
    alignas(16) float k[kChunk][D + 4];      // k (normalised); zero past the chunk's tokens
    alignas(16) float s[kCols][D + 4];       // the block's state rows: s[j][i] = S[i][j0 + j]
    alignas(16) float u[kChunk][kCols + 1];  // v, then u (the substitution overwrites it)
    alignas(16) float ks[kChunk][kCols + 4]; // S0^T k; then e^{G_m-G_s} u_s, the terms of a state update
    alignas(16) float qs[kChunk][kCols + 1]; // S0^T q
    alignas(16) float a[kChunk][kChunk + 4]; // beta_t e^{G_t-G_s} k_t.k_s for s < t, else 0
    alignas(16) float p[kChunk][kChunk + 4]; // e^{G_t-G_s} q_t.k_s for s <= t, else 0
    double G[kChunk];                        // sum of g over the chunk's tokens up to t; flat past them
    float beta[kChunk];                      // 0 past the chunk's tokens
    float eG[kChunk];                        // e^{G_t}
};

__device__ __forceinline__ double warp_sum(double s) {
    for (int offset = 16; offset > 0; offset /= 2) s += __shfl_xor_sync(kFull, s, offset);
    return s;
}

__device__ __forceinline__ float4 ld4(const float* p) { return *reinterpret_cast<const float4*>(p); }

__device__ __forceinline__ float dot4(float4 x, float4 y, float acc) {
    acc = fmaf(x.x, y.x, acc);
    acc = fmaf(x.y, y.y, acc);
    acc = fmaf(x.z, y.z, acc);
    return fmaf(x.w, y.w, acc);
}

// The chunk's tokens [t0, t0 + n) into shared memory: q, k and this block's v columns (a warp per row, a warp's
// rows all loaded before any is used: one memory latency a chunk, not one a row), g and beta (warp 0: G by an
// inclusive scan in double, two tokens a lane).
template <int D>
__device__ void load_chunk(const DeltaRuleArgs& a, Smem<D>& sm, int64_t t0, int n, int head, int key_head, int j0,
                           int warp, int lane) {
    constexpr int E = D / 32, R = kChunk / kWarps;
    static_assert(kChunk == 64, "the scan takes tokens lane and lane + 32");
    const int c1 = lane + 32;
    double g0 = 0.0, g1 = 0.0;
    if (warp == 0) {
        g0 = lane < n ? double(a.g[(t0 + lane) * a.g_stride + head]) : 0.0;
        g1 = c1 < n ? double(a.g[(t0 + c1) * a.g_stride + head]) : 0.0;
        sm.beta[lane] = lane < n ? a.beta[(t0 + lane) * a.beta_stride + head] : 0.0f;
        sm.beta[c1] = c1 < n ? a.beta[(t0 + c1) * a.beta_stride + head] : 0.0f;
    }
    float q[R][E], k[R][E], v[R];
#pragma unroll
    for (int r = 0; r < R; ++r) {
        const int c = warp + kWarps * r;
        const int64_t t = t0 + c;
        const float* qt = a.q + t * a.q_stride + int64_t(key_head) * D;
        const float* kt = a.k + t * a.k_stride + int64_t(key_head) * D;
#pragma unroll
        for (int e = 0; e < E; ++e) {
            q[r][e] = c < n ? qt[lane + 32 * e] : 0.0f;
            k[r][e] = c < n ? kt[lane + 32 * e] : 0.0f;
        }
        v[r] = c < n ? a.v[t * a.v_stride + int64_t(head) * D + j0 + lane] : 0.0f;
    }
    // As l2_norm_row: x * (scale / sqrt(sum x^2 + eps)), float squares summed in double (rows of zeros stay zero).
#pragma unroll
    for (int r = 0; r < R; ++r) {
        float fq = a.scale, fk = 1.0f;
        if (a.l2_norm) {
            double sq = 0.0, sk = 0.0;
#pragma unroll
            for (int e = 0; e < E; ++e) {
                sq += double(__fmul_rn(q[r][e], q[r][e]));
                sk += double(__fmul_rn(k[r][e], k[r][e]));
            }
            sq = warp_sum(sq);
            sk = warp_sum(sk);
            fq = __fdiv_rn(a.scale, __fsqrt_rn(__fadd_rn(float(sq), a.l2_eps)));
            fk = __fdiv_rn(1.0f, __fsqrt_rn(__fadd_rn(float(sk), a.l2_eps)));
        }
        const int c = warp + kWarps * r;
#pragma unroll
        for (int e = 0; e < E; ++e) {
            sm.q[c][lane + 32 * e] = __fmul_rn(q[r][e], fq);
            sm.k[c][lane + 32 * e] = a.l2_norm ? __fmul_rn(k[r][e], fk) : k[r][e];
        }
        sm.u[c][lane] = v[r];
    }
    if (warp == 0) {
        for (int offset = 1; offset < 32; offset *= 2) {
            const double y0 = __shfl_up_sync(kFull, g0, offset), y1 = __shfl_up_sync(kFull, g1, offset);
            if (lane >= offset) g0 += y0, g1 += y1;
        }
        g1 += __shfl_sync(kFull, g0, 31);
        sm.G[lane] = g0;
        sm.G[c1] = g1;
        sm.eG[lane] = expf(float(g0));
        sm.eG[c1] = expf(float(g1));
    }
}

// A and P (a thread: rows ty + 16r, columns tx + 16c), then S0^T k and S0^T q (rows ty + 32r, columns tx + 8c).
template <int D>
__device__ void chunk_products(Smem<D>& sm, int tid) {
    {
        const int ty = tid / 16, tx = tid % 16;
        float kk[4][4] = {}, qk[4][4] = {};
#pragma unroll 2
        for (int i = 0; i < D; i += 4) {
            float4 kr[4], qr[4], kc[4];
#pragma unroll
            for (int r = 0; r < 4; ++r) {
                kr[r] = ld4(&sm.k[ty + 16 * r][i]);
                qr[r] = ld4(&sm.q[ty + 16 * r][i]);
                kc[r] = ld4(&sm.k[tx + 16 * r][i]);
            }
#pragma unroll
            for (int r = 0; r < 4; ++r)
#pragma unroll
                for (int c = 0; c < 4; ++c) {
                    kk[r][c] = dot4(kr[r], kc[c], kk[r][c]);
                    qk[r][c] = dot4(qr[r], kc[c], qk[r][c]);
                }
        }
#pragma unroll
        for (int r = 0; r < 4; ++r)
#pragma unroll
            for (int c = 0; c < 4; ++c) {
                const int t = ty + 16 * r, s = tx + 16 * c;
                const float decay = s <= t ? expf(float(sm.G[t] - sm.G[s])) : 0.0f;
                sm.a[t][s] = s < t ? sm.beta[t] * decay * kk[r][c] : 0.0f;
                sm.p[t][s] = s <= t ? decay * qk[r][c] : 0.0f;
            }
    }
    {
        const int ty = tid / 8, tx = tid % 8;
        float ks[2][4] = {}, qs[2][4] = {};
#pragma unroll 2
        for (int i = 0; i < D; i += 4) {
            float4 kr[2], qr[2], sc[4];
#pragma unroll
            for (int r = 0; r < 2; ++r) {
                kr[r] = ld4(&sm.k[ty + 32 * r][i]);
                qr[r] = ld4(&sm.q[ty + 32 * r][i]);
            }
#pragma unroll
            for (int c = 0; c < 4; ++c) sc[c] = ld4(&sm.s[tx + 8 * c][i]);
#pragma unroll
            for (int r = 0; r < 2; ++r)
#pragma unroll
                for (int c = 0; c < 4; ++c) {
                    ks[r][c] = dot4(kr[r], sc[c], ks[r][c]);
                    qs[r][c] = dot4(qr[r], sc[c], qs[r][c]);
                }
        }
#pragma unroll
        for (int r = 0; r < 2; ++r)
#pragma unroll
            for (int c = 0; c < 4; ++c) {
                sm.ks[ty + 32 * r][tx + 8 * c] = ks[r][c];
                sm.qs[ty + 32 * r][tx + 8 * c] = qs[r][c];
            }
    }
}

// u_t = beta_t (v_t - e^{G_t} S0^T k_t) - sum_{s<t} A[t][s] u_s, lane = column (one warp). u_s past t is still 0 and
// A[t][s] is 0 for s >= t, so the float4 groups may run past t.
template <int D>
__device__ void solve_u(Smem<D>& sm, int lane) {
    float u[kChunk];
#pragma unroll
    for (int t = 0; t < kChunk; ++t) u[t] = 0.0f;
#pragma unroll
    for (int t = 0; t < kChunk; ++t) {
        float acc[4] = {sm.beta[t] * fmaf(-sm.eG[t], sm.ks[t][lane], sm.u[t][lane]), 0.0f, 0.0f, 0.0f};
#pragma unroll
        for (int s = 0; s < t; s += 4) {
            const float4 a4 = ld4(&sm.a[t][s]);
            acc[0] = fmaf(-a4.x, u[s], acc[0]);
            acc[1] = fmaf(-a4.y, u[s + 1], acc[1]);
            acc[2] = fmaf(-a4.z, u[s + 2], acc[2]);
            acc[3] = fmaf(-a4.w, u[s + 3], acc[3]);
        }
        u[t] = (acc[0] + acc[1]) + (acc[2] + acc[3]);
        sm.u[t][lane] = u[t];
    }
}

// o_t = e^{G_t} S0^T q_t + sum_{s<=t} P[t][s] u_s for the chunk's first n rows (a warp: rows warp + 8r).
template <int D>
__device__ void write_outputs(const DeltaRuleArgs& a, const Smem<D>& sm, int64_t t0, int n, int head, int j0, int warp,
                              int lane) {
    constexpr int R = kChunk / kWarps;
    float o[R];
#pragma unroll
    for (int r = 0; r < R; ++r) o[r] = sm.eG[warp + kWarps * r] * sm.qs[warp + kWarps * r][lane];
#pragma unroll 2
    for (int s = 0; s < kChunk; s += 4) {
        const float u0 = sm.u[s][lane], u1 = sm.u[s + 1][lane], u2 = sm.u[s + 2][lane], u3 = sm.u[s + 3][lane];
#pragma unroll
        for (int r = 0; r < R; ++r) {
            const float4 p4 = ld4(&sm.p[warp + kWarps * r][s]);
            o[r] = fmaf(p4.x, u0, o[r]);
            o[r] = fmaf(p4.y, u1, o[r]);
            o[r] = fmaf(p4.z, u2, o[r]);
            o[r] = fmaf(p4.w, u3, o[r]);
        }
    }
#pragma unroll
    for (int r = 0; r < R; ++r) {
        const int t = warp + kWarps * r;
        if (t < n) a.out[(t0 + t) * a.out_stride + int64_t(head) * D + j0 + lane] = o[r];
    }
}

// ks[s][j] = e^{G_{m-1} - G_s} u_s[j] for s < m, else 0: the terms of the state after the chunk's first m tokens.
template <int D>
__device__ void decayed_u(Smem<D>& sm, int m, int tid) {
    const double Gm = sm.G[m - 1];
    for (int idx = tid; idx < kChunk * kCols; idx += kThreads) {
        const int s = idx / kCols, j = idx % kCols;
        sm.ks[s][j] = s < m ? expf(float(Gm - sm.G[s])) * sm.u[s][j] : 0.0f;
    }
}

// The state after the chunk's first m tokens, e^{G_{m-1}} S0 + sum_s k_s ks[s]^T, into sm.s (in place: a thread
// reads and writes only its own elements) or into the global rows at `dst` (j0's row first). A thread: 4
// consecutive key indices i0.. times E value columns jb..; a warp covers 32 key indices times 4E columns.
template <int D>
__device__ void update_state(Smem<D>& sm, int m, float* dst, int warp, int lane) {
    constexpr int E = D / 32;
    static_assert(kWarps % E == 0 && (kWarps / E) * 4 * E == kCols, "warps tile the slice");
    const int i0 = (warp % E) * 32 + (lane % 8) * 4;
    const int jb = (warp / E) * 4 * E + (lane / 8) * E;
    const float decay = sm.eG[m - 1];
    float4 acc[E];
#pragma unroll
    for (int y = 0; y < E; ++y) {
        const float4 s0 = ld4(&sm.s[jb + y][i0]);
        acc[y] = make_float4(decay * s0.x, decay * s0.y, decay * s0.z, decay * s0.w);
    }
#pragma unroll 4
    for (int s = 0; s < kChunk; ++s) {
        const float4 k4 = ld4(&sm.k[s][i0]);
        float w[E];
        if constexpr (E == 4) {
            const float4 w4 = ld4(&sm.ks[s][jb]);
            w[0] = w4.x, w[1] = w4.y, w[2] = w4.z, w[3] = w4.w;
        } else {
#pragma unroll
            for (int y = 0; y < E; ++y) w[y] = sm.ks[s][jb + y];
        }
#pragma unroll
        for (int y = 0; y < E; ++y) {
            acc[y].x = fmaf(k4.x, w[y], acc[y].x);
            acc[y].y = fmaf(k4.y, w[y], acc[y].y);
            acc[y].z = fmaf(k4.z, w[y], acc[y].z);
            acc[y].w = fmaf(k4.w, w[y], acc[y].w);
        }
    }
#pragma unroll
    for (int y = 0; y < E; ++y) {
        if (dst == nullptr) {
            *reinterpret_cast<float4*>(&sm.s[jb + y][i0]) = acc[y];
        } else {  // scalar stores: a state row's alignment is the caller's
            float* row = dst + int64_t(jb + y) * D + i0;
            row[0] = acc[y].x, row[1] = acc[y].y, row[2] = acc[y].z, row[3] = acc[y].w;
        }
    }
}

template <int D>
__device__ void store_state(const Smem<D>& sm, float* dst, int tid) {
    for (int idx = tid; idx < kCols * D; idx += kThreads) dst[int64_t(idx / D) * D + idx % D] = sm.s[idx / D][idx % D];
}

template <int D>
__global__ void __launch_bounds__(kThreads, 1) delta_rule_chunked_kernel(DeltaRuleArgs a, DeviceRecurrentLayout layout) {
    grid_dependency_sync();
    const RecurrentRun run = layout.runs[blockIdx.z];
    if (!takes_chunked(a, run.first_token, run.n_tokens)) return;  // the recurrent kernel's run
    extern __shared__ __align__(16) unsigned char smem_raw[];
    Smem<D>& sm = *reinterpret_cast<Smem<D>*>(smem_raw);
    const int tid = int(threadIdx.x), lane = tid % 32, warp = tid / 32;
    const int head = int(blockIdx.y), key_head = head % a.n_k_heads, j0 = int(blockIdx.x) * kCols;
    const int64_t head_offset = int64_t(head) * D * D + int64_t(j0) * D;  // this block's first state row
    float* slot = a.state + int64_t(run.slot) * a.state_stride + head_offset;

    for (int idx = tid; idx < kCols * D; idx += kThreads)
        sm.s[idx / D][idx % D] = run.fresh ? 0.0f : slot[int64_t(idx / D) * D + idx % D];

    int next_snap = 0;
    for (int c0 = 0; c0 < run.n_tokens; c0 += kChunk) {
        const int n = min(kChunk, run.n_tokens - c0);
        const int64_t t0 = int64_t(run.first_token) + c0;
        load_chunk<D>(a, sm, t0, n, head, key_head, j0, warp, lane);
        __syncthreads();
        chunk_products<D>(sm, tid);
        __syncthreads();
        if (warp == 0) solve_u<D>(sm, lane);
        __syncthreads();
        write_outputs<D>(a, sm, t0, n, head, j0, warp, lane);

        // Snapshots inside the chunk, from S0 and the chunk's u (the chunk itself is not cut).
        while (next_snap < run.snap_count) {
            const RecurrentSnap sn = layout.snaps[run.snap_first + next_snap];
            if (sn.n_done >= c0 + n) break;
            const int m = sn.n_done - c0;
            if (m >= 1) {  // 1 <= n_done and in order, checked on the host
                decayed_u<D>(sm, m, tid);
                __syncthreads();
                update_state<D>(sm, m, a.state + int64_t(sn.row) * a.state_stride + head_offset, warp, lane);
                __syncthreads();
            }
            ++next_snap;
        }
        decayed_u<D>(sm, n, tid);
        __syncthreads();
        update_state<D>(sm, n, nullptr, warp, lane);
        __syncthreads();
        while (next_snap < run.snap_count && layout.snaps[run.snap_first + next_snap].n_done == c0 + n) {
            store_state<D>(sm, a.state + int64_t(layout.snaps[run.snap_first + next_snap].row) * a.state_stride + head_offset,
                           tid);
            ++next_snap;
        }
    }
    store_state<D>(sm, slot, tid);
}

template <int D>
void launch_chunked(const DeltaRuleArgs& a, const DeviceRecurrentLayout& layout, cudaStream_t stream) {
    constexpr size_t kSmem = sizeof(Smem<D>);
    static const bool configured = [] {  // over the 48 KiB default: ask once
        HOTROD_CUDA_CHECK(cudaFuncSetAttribute(delta_rule_chunked_kernel<D>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                               int(kSmem)));
        return true;
    }();
    (void)configured;
    const dim3 grid(unsigned(D / kCols), unsigned(a.n_v_heads), unsigned(layout.n_seqs));
    launch_kernel(delta_rule_chunked_kernel<D>, grid, kThreads, kSmem, stream, a, layout);
}

}  // namespace

bool delta_rule_chunked_supports(int head_dim) { return head_dim == 64 || head_dim == 128; }

void gated_delta_rule_chunked(const DeltaRuleArgs& a, const DeviceRecurrentLayout& layout, cudaStream_t stream) {
    if (!delta_rule_chunked_supports(a.head_dim))
        throw std::invalid_argument("cuda::gated_delta_rule_chunked: head_dim " + std::to_string(a.head_dim) +
                                    " (64 or 128)");
    if (a.chunked_min_tokens < 1)
        throw std::invalid_argument("cuda::gated_delta_rule_chunked: chunked_min_tokens " +
                                    std::to_string(a.chunked_min_tokens) + " (>= 1)");
    if (layout.n_seqs <= 0) return;
    if (a.head_dim == 64) return launch_chunked<64>(a, layout, stream);
    launch_chunked<128>(a, layout, stream);
}

}  // namespace hotrod::cuda
