// The gated delta rule on the GPU, recurrent form (token by token): decode, and the runs too short for the chunked
// form (delta_rule_chunked.cu; DeltaRuleArgs::chunked_min_tokens says which those are). Row j of a value
// head's state (S[.][j], head_dim floats, the key index contiguous) is its own recurrence:
//   S_j <- e^g S_j;  u_j = beta (v_j - S_j . k);  S_j += u_j k;  o_j = S_j . (scale q)
// so the work splits over (sequence, value head, row) with no communication between rows. A warp owns
// kRowsPerWarp consecutive rows, held in registers (lane l has elements l, l + 32, ..), for the whole of the
// sequence's tokens; each warp loads q and k of the head's key head itself and L2-normalises them by warp sums (no
// shared memory, no barrier), the next token's inputs loaded while the current one is computed. The state is read
// once and written once per call (plus a copy per snapshot). Block: kWarps warps = 16 rows; grid: (head_dim / 16,
// value heads, sequences).
// Numerics: the L2 norm as the CPU's l2_norm_row (float squares summed in double, float sqrt and divide); the row
// dots and the update in float with FMAs, the dots summed in a different order from the CPU's, so results match the
// double reference gated_delta_rule_ref within float rounding (the tests' bound says how far).
#include <stdexcept>
#include <string>

#include "cuda/launch.cuh"
#include "cuda/recurrent.h"

namespace hotrod::cuda {

namespace {

constexpr int kRowsPerWarp = 4;
constexpr int kWarps = 4;
constexpr int kRowsPerBlock = kRowsPerWarp * kWarps;  // 16: divides every head_dim that is a multiple of 32
constexpr unsigned kFull = 0xffffffffu;

// Butterfly sums: every lane ends with the same value (each pair adds the same two operands).
__device__ __forceinline__ double warp_sum(double s) {
    for (int offset = 16; offset > 0; offset /= 2) s += __shfl_xor_sync(kFull, s, offset);
    return s;
}

template <int N>
__device__ __forceinline__ void warp_sums(float (&s)[N]) {
    for (int offset = 16; offset > 0; offset /= 2) {
#pragma unroll
        for (int r = 0; r < N; ++r) s[r] += __shfl_xor_sync(kFull, s[r], offset);
    }
}

// One token's inputs as this lane needs them: its elements of the key head's q and k, the rows' v, the gates.
template <int E>
struct TokenIn {
    float q[E], k[E];
    float v[kRowsPerWarp];
    float g, beta;
};

template <int E>
__device__ __forceinline__ void load_token(const DeltaRuleArgs& a, int64_t t, int head, int key_head, int j0, int lane,
                                           TokenIn<E>& in) {
    constexpr int D = 32 * E;
    const float* qt = a.q + t * a.q_stride + int64_t(key_head) * D;
    const float* kt = a.k + t * a.k_stride + int64_t(key_head) * D;
#pragma unroll
    for (int e = 0; e < E; ++e) {
        in.q[e] = qt[lane + 32 * e];
        in.k[e] = kt[lane + 32 * e];
    }
    const float* vt = a.v + t * a.v_stride + int64_t(head) * D + j0;
#pragma unroll
    for (int r = 0; r < kRowsPerWarp; ++r) in.v[r] = vt[r];
    in.g = a.g[t * a.g_stride + head];
    in.beta = a.beta[t * a.beta_stride + head];
}

template <int E>
__device__ __forceinline__ void store_rows(const float (&S)[kRowsPerWarp][E], float* block, int j0, int lane) {
    constexpr int D = 32 * E;
#pragma unroll
    for (int r = 0; r < kRowsPerWarp; ++r)
#pragma unroll
        for (int e = 0; e < E; ++e) block[int64_t(j0 + r) * D + lane + 32 * e] = S[r][e];
}

template <int E>
__global__ void __launch_bounds__(kWarps * 32) delta_rule_kernel(DeltaRuleArgs a, DeviceRecurrentLayout layout) {
    grid_dependency_sync();
    constexpr int D = 32 * E;
    const int lane = int(threadIdx.x % 32), warp = int(threadIdx.x / 32);
    const int head = int(blockIdx.y), key_head = head % a.n_k_heads;
    const int j0 = (int(blockIdx.x) * kWarps + warp) * kRowsPerWarp;
    const RecurrentRun run = layout.runs[blockIdx.z];
    if (takes_chunked(a, run.first_token, run.n_tokens)) return;  // the chunked kernel's run
    const int64_t head_offset = int64_t(head) * D * D;
    float* slot = a.state + int64_t(run.slot) * a.state_stride + head_offset;

    float S[kRowsPerWarp][E];
#pragma unroll
    for (int r = 0; r < kRowsPerWarp; ++r)
#pragma unroll
        for (int e = 0; e < E; ++e) S[r][e] = run.fresh ? 0.0f : slot[int64_t(j0 + r) * D + lane + 32 * e];

    TokenIn<E> next;
    if (run.n_tokens > 0) load_token<E>(a, run.first_token, head, key_head, j0, lane, next);
    int next_snap = 0;
    for (int n = 0; n < run.n_tokens; ++n) {
        const int64_t t = int64_t(run.first_token) + n;
        TokenIn<E> in = next;
        if (n + 1 < run.n_tokens) load_token<E>(a, t + 1, head, key_head, j0, lane, next);

        // q and k of the key head, L2-normalised as l2_norm_row: x * (scale / sqrt(sum x^2 + eps)).
        float fq = a.scale, fk = 1.0f;
        if (a.l2_norm) {
            double sq = 0.0, sk = 0.0;
#pragma unroll
            for (int e = 0; e < E; ++e) {
                sq += double(__fmul_rn(in.q[e], in.q[e]));
                sk += double(__fmul_rn(in.k[e], in.k[e]));
            }
            sq = warp_sum(sq);
            sk = warp_sum(sk);
            fq = __fdiv_rn(a.scale, __fsqrt_rn(__fadd_rn(float(sq), a.l2_eps)));
            fk = __fdiv_rn(1.0f, __fsqrt_rn(__fadd_rn(float(sk), a.l2_eps)));
        }
#pragma unroll
        for (int e = 0; e < E; ++e) {
            in.q[e] = __fmul_rn(in.q[e], fq);
            if (a.l2_norm) in.k[e] = __fmul_rn(in.k[e], fk);
        }

        // u_j = beta (v_j - e^g S_j . k), the decay folded in as the CPU's kernel does.
        const float decay = expf(in.g);
        float dot[kRowsPerWarp];
#pragma unroll
        for (int r = 0; r < kRowsPerWarp; ++r) {
            float p = 0.0f;
#pragma unroll
            for (int e = 0; e < E; ++e) p = fmaf(S[r][e], in.k[e], p);
            dot[r] = p;
        }
        warp_sums(dot);
        // S_j = e^g S_j + u_j k, then o_j = S_j . q.
#pragma unroll
        for (int r = 0; r < kRowsPerWarp; ++r) {
            const float u = in.beta * (in.v[r] - decay * dot[r]);
            float p = 0.0f;
#pragma unroll
            for (int e = 0; e < E; ++e) {
                S[r][e] = fmaf(decay, S[r][e], u * in.k[e]);
                p = fmaf(S[r][e], in.q[e], p);
            }
            dot[r] = p;
        }
        warp_sums(dot);
        // Lane r writes row j0 + r's output (a select, not dot[lane]: registers cannot be indexed).
        float o = 0.0f;
#pragma unroll
        for (int r = 0; r < kRowsPerWarp; ++r)
            if (lane == r) o = dot[r];
        if (lane < kRowsPerWarp) a.out[t * a.out_stride + int64_t(head) * D + j0 + lane] = o;

        while (next_snap < run.snap_count && layout.snaps[run.snap_first + next_snap].n_done == n + 1) {
            const RecurrentSnap sn = layout.snaps[run.snap_first + next_snap];
            store_rows<E>(S, a.state + int64_t(sn.row) * a.state_stride + head_offset, j0, lane);
            ++next_snap;
        }
    }
    store_rows<E>(S, slot, j0, lane);
}

template <int E>
void launch_delta_rule(const DeltaRuleArgs& a, const DeviceRecurrentLayout& layout, cudaStream_t stream) {
    const dim3 grid(unsigned(32 * E / kRowsPerBlock), unsigned(a.n_v_heads), unsigned(layout.n_seqs));
    launch_kernel(delta_rule_kernel<E>, grid, kWarps * 32, 0, stream, a, layout);
}

}  // namespace

bool delta_rule_supports(int head_dim) { return head_dim > 0 && head_dim % 32 == 0 && head_dim <= kDeltaMaxHeadDim; }

void gated_delta_rule(const DeltaRuleArgs& a, const DeviceRecurrentLayout& layout, cudaStream_t stream) {
    if (!delta_rule_supports(a.head_dim))
        throw std::invalid_argument("cuda::gated_delta_rule: head_dim " + std::to_string(a.head_dim) +
                                    " (a multiple of 32 up to " + std::to_string(kDeltaMaxHeadDim) + ")");
    if (a.n_k_heads <= 0 || a.n_v_heads <= 0 || a.n_v_heads > 65535 || layout.n_seqs > 65535)
        throw std::invalid_argument("cuda::gated_delta_rule: " + std::to_string(a.n_v_heads) + " value heads, " +
                                    std::to_string(layout.n_seqs) + " sequences");
    if (layout.n_seqs <= 0) return;
    if (a.launch_chunked) gated_delta_rule_chunked(a, layout, stream);
    if (!a.launch_recurrent) return;
    switch (a.head_dim / 32) {
        case 1: return launch_delta_rule<1>(a, layout, stream);
        case 2: return launch_delta_rule<2>(a, layout, stream);
        case 3: return launch_delta_rule<3>(a, layout, stream);
        case 4: return launch_delta_rule<4>(a, layout, stream);
        case 5: return launch_delta_rule<5>(a, layout, stream);
        case 6: return launch_delta_rule<6>(a, layout, stream);
        case 7: return launch_delta_rule<7>(a, layout, stream);
        default: return launch_delta_rule<8>(a, layout, stream);
    }
}

}  // namespace hotrod::cuda
