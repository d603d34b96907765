// Tiled prefill attention, AVX-512 (ops_attention.h). A tile is up to 32 query rows (tokens x G heads of one
// KV group) of consecutive tokens; each rides in one lane of two registers, so every K or V row is converted
// once per tile and no dot product needs a horizontal sum:
//  - Q is rounded to fp16 and stored transposed ([head_dim][32]); the 32 scores at position j are FMAs of Q
//    columns by the broadcast k_j[i] (K converted 32 positions at a time) summed in exactly the unit kernel's
//    order (score_positions), scaled, soft-capped, and masked per lane (each row has its own causal end and
//    window start; masked scores are -inf).
//  - Per lane: max over the span, the sum of exp as the unit kernel sums it (float per 16 positions from the
//    row's first, then double), 1 / float(sum) as attention_softmax_merge gives it; then the probabilities
//    exp(s - M) / sum rounded to fp16, in place (masked ones 0).
//  - V converted 32 positions at a time; blocks of 4 rows x 64 floats of output accumulate sum_j p_j v_j in
//    registers, in position order like the unit kernel (a masked position adds an exact 0).
// So every output is bit-identical to the unit path's (attention_unit with the AVX-512 kernels): a token gives
// the same attention whether it is prefilled in a tile or computed alone (decode, or batched with others).
// Shapes the unit kernel sends to the reference (head_dim % 16, head_dim > 512, G > 16) go through the unit
// kernels token by token.
#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <limits>

#include "cpu/ops_attention.h"
#include "cpu/ops_attention_load.h"
#include "cpu/ops_simd_math.h"

namespace hotrod::cpu::kernels {

namespace {

constexpr int kRows = kAttentionTileRows;  // lanes of the score rows: two registers
constexpr int kChunk = 32;                 // positions of K or V converted at once
constexpr int kMaxHeadDim = 512;

static_assert(kRows == 32, "the kernel holds a tile's rows in two registers");

// Where lane r (token r / G, head r % G) may look: lo[r] <= j <= hi[r]; empty for lanes past the tile.
struct LaneBounds {
    __m512i lo[2], hi[2];
};

inline __mmask16 visible(const LaneBounds& b, int half, int32_t j) {
    const __m512i jv = _mm512_set1_epi32(j);
    return _mm512_cmple_epi32_mask(b.lo[half], jv) & _mm512_cmple_epi32_mask(jv, b.hi[half]);
}

// The unit kernel's dot (ops_attention_avx512.cpp) for one (row, position): two 16-lane accumulators, s0 lane l
// an FMA chain over dims d = l (mod 32), s1 lane l over d = l + 16 (mod 32), both from 0 in increasing d (a
// head_dim % 32 == 16 tail goes to s0 only); then v = s0 + s1 and _mm512_reduce_add_ps(v), whose tree is
// a_j = v_{j+8} + v_j (j < 8), b_j = a_{j+4} + a_j (j < 4), (b_0 + b_2) + (b_1 + b_3). Here the rows ride in
// the lanes instead, so each of those partial sums is a register of 32 rows (two halves) and every addition
// has the same two operands as in the unit kernel: the tile's scores are bit-identical to the unit path's.
// (The tree is GCC's _mm512_reduce_add_ps; OpsAttention.TiledIsTheUnitPath fails if a compiler's differs.)
// v_l of P positions, both halves: the s0 chain over dims l (mod 32) plus the s1 chain over l + 16 (mod 32).
template <int P>
inline void lane_sum(const float* qt, const float* kf, int hd, int l, __m512 (&v)[P][2]) {
    __m512 s0[P][2], s1[P][2];
    for (int p = 0; p < P; ++p) {
        for (int h = 0; h < 2; ++h) s0[p][h] = s1[p][h] = _mm512_setzero_ps();
    }
    int d = 0;
    for (; d + 32 <= hd; d += 32) {
        const float* qd = qt + size_t(d + l) * kRows;
        const __m512 qa0 = _mm512_load_ps(qd), qa1 = _mm512_load_ps(qd + 16);
        const __m512 qc0 = _mm512_load_ps(qd + 16 * kRows), qc1 = _mm512_load_ps(qd + 16 * kRows + 16);
        for (int p = 0; p < P; ++p) {
            const float* k = kf + size_t(p) * hd + d + l;
            const __m512 ka = _mm512_set1_ps(k[0]), kc = _mm512_set1_ps(k[16]);
            s0[p][0] = _mm512_fmadd_ps(qa0, ka, s0[p][0]);
            s0[p][1] = _mm512_fmadd_ps(qa1, ka, s0[p][1]);
            s1[p][0] = _mm512_fmadd_ps(qc0, kc, s1[p][0]);
            s1[p][1] = _mm512_fmadd_ps(qc1, kc, s1[p][1]);
        }
    }
    if (d < hd) {  // head_dim % 32 == 16: the unit kernel's last 16 dims go to s0
        const float* qd = qt + size_t(d + l) * kRows;
        const __m512 qa0 = _mm512_load_ps(qd), qa1 = _mm512_load_ps(qd + 16);
        for (int p = 0; p < P; ++p) {
            const __m512 ka = _mm512_set1_ps(kf[size_t(p) * hd + d + l]);
            s0[p][0] = _mm512_fmadd_ps(qa0, ka, s0[p][0]);
            s0[p][1] = _mm512_fmadd_ps(qa1, ka, s0[p][1]);
        }
    }
    for (int p = 0; p < P; ++p) {
        for (int h = 0; h < 2; ++h) v[p][h] = _mm512_add_ps(s0[p][h], s1[p][h]);
    }
}

// a_j = v_{j+8} + v_j.
template <int P>
inline void pair_sum(const float* qt, const float* kf, int hd, int j, __m512 (&a)[P][2]) {
    __m512 lo[P][2], hi[P][2];
    lane_sum<P>(qt, kf, hd, j, lo);
    lane_sum<P>(qt, kf, hd, j + 8, hi);
    for (int p = 0; p < P; ++p) {
        for (int h = 0; h < 2; ++h) a[p][h] = _mm512_add_ps(hi[p][h], lo[p][h]);
    }
}

// b_j = a_{j+4} + a_j.
template <int P>
inline void quad_sum(const float* qt, const float* kf, int hd, int j, __m512 (&b)[P][2]) {
    __m512 lo[P][2], hi[P][2];
    pair_sum<P>(qt, kf, hd, j, lo);
    pair_sum<P>(qt, kf, hd, j + 4, hi);
    for (int p = 0; p < P; ++p) {
        for (int h = 0; h < 2; ++h) b[p][h] = _mm512_add_ps(hi[p][h], lo[p][h]);
    }
}

// Scores of the 32 lanes at P consecutive positions whose K rows (floats) start at kf, head_dim hd apart, in
// the unit kernel's order (above), then scaled, soft-capped and masked as there.
template <int P>
inline void score_positions(const AttentionJob& job, const float* qt, const float* kf, int hd, int32_t j0,
                            const LaneBounds& bounds, float* s) {
    __m512 c0[P][2], c1[P][2], b0[P][2], b1[P][2];
    quad_sum<P>(qt, kf, hd, 0, b0);
    quad_sum<P>(qt, kf, hd, 2, b1);
    for (int p = 0; p < P; ++p) {
        for (int h = 0; h < 2; ++h) c0[p][h] = _mm512_add_ps(b0[p][h], b1[p][h]);
    }
    quad_sum<P>(qt, kf, hd, 1, b0);
    quad_sum<P>(qt, kf, hd, 3, b1);
    for (int p = 0; p < P; ++p) {
        for (int h = 0; h < 2; ++h) c1[p][h] = _mm512_add_ps(b0[p][h], b1[p][h]);
    }
    const __m512 scale = _mm512_set1_ps(job.scale), neg_inf = _mm512_set1_ps(-std::numeric_limits<float>::infinity());
    for (int p = 0; p < P; ++p) {
        for (int half = 0; half < 2; ++half) {
            __m512 x = _mm512_mul_ps(_mm512_add_ps(c0[p][half], c1[p][half]), scale);
            if (job.softcap > 0.0f) {
                const __m512 cap = _mm512_set1_ps(job.softcap);
                x = _mm512_mul_ps(cap, simd::tanh16(_mm512_mul_ps(x, _mm512_set1_ps(1.0f / job.softcap))));
            }
            _mm512_store_ps(s + size_t(p) * kRows + 16 * half,
                            _mm512_mask_blend_ps(visible(bounds, half, j0 + p), neg_inf, x));
        }
    }
}

// Adds sum over the chunk's positions of p_j * v_j to R rows x NV registers of output (columns i..i+16 NV).
template <int R, int NV>
inline void add_values(const float* p, const float* vf, int hd, int nc, int i, float* const* out_rows) {
    __m512 acc[R][NV];
    for (int r = 0; r < R; ++r) {
        for (int v = 0; v < NV; ++v) acc[r][v] = _mm512_loadu_ps(out_rows[r] + i + 16 * v);
    }
    for (int jj = 0; jj < nc; ++jj) {
        __m512 v_row[NV];
        for (int v = 0; v < NV; ++v) v_row[v] = _mm512_load_ps(vf + size_t(jj) * hd + i + 16 * v);
        for (int r = 0; r < R; ++r) {
            const __m512 w = _mm512_set1_ps(p[size_t(jj) * kRows + r]);
            for (int v = 0; v < NV; ++v) acc[r][v] = _mm512_fmadd_ps(w, v_row[v], acc[r][v]);
        }
    }
    for (int r = 0; r < R; ++r) {
        for (int v = 0; v < NV; ++v) _mm512_storeu_ps(out_rows[r] + i + 16 * v, acc[r][v]);
    }
}

// All columns of R rows (out_rows[0..R)), whose probabilities start at lane p.
template <int R>
inline void add_values_rows(const float* p, const float* vf, int hd, int nc, float* const* out_rows) {
    int i = 0;
    for (; i + 64 <= hd; i += 64) add_values<R, 4>(p, vf, hd, nc, i, out_rows);
    for (; i < hd; i += 16) add_values<R, 1>(p, vf, hd, nc, i, out_rows);
}

template <quant::DType T>
void tile(const AttentionJob& job, int64_t t0, int n_tokens, int g, float* scratch) {
    const int hd = job.head_dim;
    const int group = attention_group(job);
    const int rows = n_tokens * group;
    const int32_t* table = job.block_tables[job.token_seq[t0]];
    int32_t first = 0, end = 0, unused = 0;
    attention_range(job, t0, first, unused);
    attention_range(job, t0 + n_tokens - 1, unused, end);
    const int32_t span = end - first;

    float* qt = reinterpret_cast<float*>((reinterpret_cast<uintptr_t>(scratch) + 63) & ~uintptr_t(63));
    float* rows_f32 = qt + size_t(hd) * kRows;     // [kChunk][hd]: one chunk of K, later of V, rows
    float* s = rows_f32 + size_t(kChunk) * hd;     // [span][kRows]: scores, then probabilities

    // Q of every lane rounded to fp16, transposed; lane bounds; output rows.
    alignas(64) int32_t lo[kRows], hi[kRows];
    float* out_rows[kRows];
    for (int r = 0; r < kRows; ++r) {
        if (r < rows) {
            const int64_t t = t0 + r / group;
            const size_t head_off = size_t(g * group + r % group) * hd;
            const float* q = job.q + size_t(t) * job.q_stride + head_off;
            for (int i = 0; i < hd; i += 16) {
                alignas(64) float qr[16];
                _mm512_store_ps(qr, simd::round_fp16(_mm512_loadu_ps(q + i)));
                for (int k = 0; k < 16; ++k) qt[size_t(i + k) * kRows + r] = qr[k];
            }
            attention_range(job, t, lo[r], hi[r]);
            hi[r] -= 1;
            out_rows[r] = job.out + size_t(t) * job.out_stride + head_off;
        } else {
            for (int i = 0; i < hd; ++i) qt[size_t(i) * kRows + r] = 0.0f;
            lo[r] = std::numeric_limits<int32_t>::max();
            hi[r] = -1;
            out_rows[r] = nullptr;
        }
    }
    LaneBounds bounds;
    for (int half = 0; half < 2; ++half) {
        bounds.lo[half] = _mm512_load_si512(lo + 16 * half);
        bounds.hi[half] = _mm512_load_si512(hi + 16 * half);
    }

    // Scores.
    int32_t block = first / job.block_size, offset = first % job.block_size;  // no division per position
    auto convert_chunk = [&](const uint8_t* cache, int nc) {
        for (int jj = 0; jj < nc; ++jj) {
            const int64_t slot = int64_t(table[block]) * job.block_size + offset;
            if (++offset == job.block_size) offset = 0, ++block;
            simd::load_head16<T>(cache + size_t(slot) * job.kv_row_bytes, g, hd, rows_f32 + size_t(jj) * hd);
        }
    };
    for (int32_t jc = 0; jc < span; jc += kChunk) {
        const int nc = std::min<int32_t>(kChunk, span - jc);
        convert_chunk(job.k, nc);
        int jj = 0;
        for (; jj + 4 <= nc; jj += 4) {
            score_positions<4>(job, qt, rows_f32 + size_t(jj) * hd, hd, first + jc + jj, bounds,
                               s + size_t(jc + jj) * kRows);
        }
        for (; jj < nc; ++jj) {
            score_positions<1>(job, qt, rows_f32 + size_t(jj) * hd, hd, first + jc + jj, bounds,
                               s + size_t(jc + jj) * kRows);
        }
    }

    // Softmax per lane: max; the sum of exp as the unit kernel takes it (for each 16 positions from the row's
    // first, exps of the dead lanes 0, _mm512_reduce_add_ps's tree in float, added to a double); then the
    // fp16-rounded probabilities in place.
    const __m512 neg_inf = _mm512_set1_ps(-std::numeric_limits<float>::infinity());
    alignas(64) int32_t base[kRows], count[kRows];  // row's first score index in s, its number of positions
    int32_t most = 0;
    for (int r = 0; r < kRows; ++r) {
        base[r] = r < rows ? lo[r] - first : 0;
        count[r] = r < rows ? hi[r] - lo[r] + 1 : 0;
        most = std::max(most, count[r]);
    }
    for (int half = 0; half < 2; ++half) {
        float* sh = s + 16 * half;
        __m512 m = neg_inf;
        for (int32_t j = 0; j < span; ++j) m = _mm512_max_ps(m, _mm512_load_ps(sh + size_t(j) * kRows));
        const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
        const __m512i base_v = _mm512_load_si512(base + 16 * half), count_v = _mm512_load_si512(count + 16 * half);
        __m512d l_lo = _mm512_setzero_pd(), l_hi = _mm512_setzero_pd();
        for (int32_t c = 0; c < most; c += 16) {
            __m512 e[16];
            for (int k = 0; k < 16; ++k) {
                const __m512i off = _mm512_set1_epi32(c + k);
                const __mmask16 live = _mm512_cmplt_epi32_mask(off, count_v);
                const __m512i idx = _mm512_add_epi32(_mm512_slli_epi32(_mm512_add_epi32(base_v, off), 5), lane);
                const __m512 x = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), live, idx, sh, 4);
                e[k] = _mm512_maskz_mov_ps(live, simd::exp16(_mm512_sub_ps(x, m)));
            }
            __m512 t3[8], t6[4];
            for (int k = 0; k < 8; ++k) t3[k] = _mm512_add_ps(e[k + 8], e[k]);
            for (int k = 0; k < 4; ++k) t6[k] = _mm512_add_ps(t3[k + 4], t3[k]);
            const __m512 sum = _mm512_add_ps(_mm512_add_ps(t6[0], t6[2]), _mm512_add_ps(t6[1], t6[3]));
            l_lo = _mm512_add_pd(l_lo, _mm512_cvtps_pd(_mm512_castps512_ps256(sum)));
            l_hi = _mm512_add_pd(l_hi, _mm512_cvtps_pd(_mm512_extractf32x8_ps(sum, 1)));
        }
        // As the unit path: the sum kept as a float, its inverse taken in double.
        const __m512d one = _mm512_set1_pd(1.0);
        const __m256 inv_lo = _mm512_cvtpd_ps(_mm512_div_pd(one, _mm512_cvtps_pd(_mm512_cvtpd_ps(l_lo))));
        const __m256 inv_hi = _mm512_cvtpd_ps(_mm512_div_pd(one, _mm512_cvtps_pd(_mm512_cvtpd_ps(l_hi))));
        const __m512 inv = _mm512_insertf32x8(_mm512_castps256_ps512(inv_lo), inv_hi, 1);
        for (int32_t j = 0; j < span; ++j) {
            const __m512 x = _mm512_load_ps(sh + size_t(j) * kRows);
            const __mmask16 live = _mm512_cmp_ps_mask(x, neg_inf, _CMP_NEQ_OQ);
            const __m512 e = _mm512_mul_ps(simd::exp16(_mm512_sub_ps(x, m)), inv);
            _mm512_store_ps(sh + size_t(j) * kRows, _mm512_maskz_mov_ps(live, simd::round_fp16(e)));
        }
    }

    // Values.
    for (int r = 0; r < rows; ++r) std::fill(out_rows[r], out_rows[r] + hd, 0.0f);
    block = first / job.block_size, offset = first % job.block_size;
    for (int32_t jc = 0; jc < span; jc += kChunk) {
        const int nc = std::min<int32_t>(kChunk, span - jc);
        convert_chunk(job.v, nc);
        const float* p = s + size_t(jc) * kRows;
        int r = 0;
        for (; r + 4 <= rows; r += 4) add_values_rows<4>(p + r, rows_f32, hd, nc, out_rows + r);
        switch (rows - r) {
            case 3: add_values_rows<3>(p + r, rows_f32, hd, nc, out_rows + r); break;
            case 2: add_values_rows<2>(p + r, rows_f32, hd, nc, out_rows + r); break;
            case 1: add_values_rows<1>(p + r, rows_f32, hd, nc, out_rows + r); break;
            default: break;
        }
    }
}

// Where the unit kernel itself would fall back to the reference (G > 16), so must the tile: same arithmetic.
bool fits(const AttentionJob& job, int n_tokens) {
    return job.head_dim % 16 == 0 && job.head_dim <= kMaxHeadDim && attention_group(job) <= 16 &&
           n_tokens * attention_group(job) <= kRows;
}

}  // namespace

void attention_tile_avx512(const AttentionJob& job, int64_t t0, int n_tokens, int g, float* scratch) {
    if (!fits(job, n_tokens)) {
        const AttentionKernels unit{attention_scores_avx512, attention_values_avx512, nullptr};
        for (int64_t t = t0; t < t0 + n_tokens; ++t) attention_unit(job, unit, t, g, scratch);
    } else if (job.kv_type == quant::DType::Q8_0) {
        tile<quant::DType::Q8_0>(job, t0, n_tokens, g, scratch);
    } else {
        tile<quant::DType::F16>(job, t0, n_tokens, g, scratch);
    }
}

}  // namespace hotrod::cpu::kernels
