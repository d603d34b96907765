// Many-column tile kernels of Q4_K and Q6_K, AVX-512 BW + VNNI (see gemm_q32.h for the contract). A call decodes
// its rows once into groups of 16 rows, interleaved 4 codes at a time: int32 lane r of a vector holds 4 codes of
// row r, so one vpdpbusd against 4 broadcast activation bytes advances 16 rows, and each sub-block's sum arrives
// with rows in lanes. The sub-block scale is applied in int32 (vpmulld) and the mins / the Q6_K offset come in
// through the activations' group sums, so each super-block's total is the exact integer of the reference; it
// then takes quant::dot_ref_q4_k's / dot_ref_q6_k's float steps in the same order, lane by lane. The result equals
// the reference and the GEMV kernels (dot_q4_k_avx512.cpp, dot_q6_k_avx512.cpp) bit for bit: a token's logits do
// not depend on whether it went through the GEMV or the GEMM path. Built with -ffp-contract=off (CMakeLists.txt).
// GCC 12 reports its own _mm512_undefined_*() pass-through operands as uninitialized once inlined (a false positive).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <vector>

#include "cpu/dot_kquants_tile.h"
#include "cpu/gemm_q32.h"
#include "quant/blocks.h"

namespace hotrod::cpu::kernels {
namespace {

constexpr int kGroupRows = 16;  // rows per interleaved group: the 16 int32 lanes of a zmm
constexpr int kMaxCols = 8;     // columns per pass over a group: 3 accumulators each, 24 of the 32 registers
constexpr size_t kQ8KCodes = offsetof(quant::BlockQ8_K, qs);
constexpr size_t kQ8KSums = offsetof(quant::BlockQ8_K, bsums);

// Unaligned little-endian loads: load_u32 / load_f32 of dot_kquants_tile.h.
inline int32_t load_i32(const uint8_t* p) { return int32_t(load_u32(p)); }

// 4 bytes at p + r * stride for the rows r of `live` (other lanes 0): one field of 16 rows' blocks at once.
struct RowGather {
    __m512i offsets;
    __mmask16 live;
    RowGather(size_t stride, int n_rows)
        : offsets(_mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                     _mm512_set1_epi32(int32_t(stride)))),
          live(__mmask16((1u << n_rows) - 1)) {}
    __m512i operator()(const uint8_t* p) const {
        return _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), live, offsets, p, 1);
    }
};

inline __m512i byte_of(__m512i v, int i) { return _mm512_and_si512(_mm512_srli_epi32(v, 8 * i), _mm512_set1_epi32(0xFF)); }

// fp16 in the low (high = false) or high 16 bits of each lane, to float.
inline __m512 half_lanes(__m512i v, bool high) {
    return _mm512_cvtph_ps(_mm512_cvtepi32_epi16(high ? _mm512_srli_epi32(v, 16) : v));
}

// ---- Q4_K ----------------------------------------------------------------------------------------------------

// One super-block of a group of 16 rows.
struct Q4KGroupBlock {
    __m512i q[64];      // q[8j + k], lane r: codes 32j+4k .. 32j+4k+3 of row r (0..15), sub-block j
    __m512i scale[8];   // lane r: the 6-bit scale of sub-block j of row r
    __m512i mins[4];    // lane r: mins of sub-blocks 2p (low int16) and 2p+1 (high int16), for vpdpwssd
    __m512 d, dmin;
};

void decode_q4_k(const DotTile& t, int r0, int n_rows, int64_t nb, Q4KGroupBlock* out) {
    const RowGather gather(t.w_stride, n_rows);
    const __m512i low4 = _mm512_set1_epi8(0x0F);
    const __m512i low6 = _mm512_set1_epi8(0x3F);
    const __m512i bits45 = _mm512_set1_epi8(0x30);
    for (int64_t b = 0; b < nb; ++b) {
        const uint8_t* blk = t.w + size_t(r0) * t.w_stride + size_t(b) * sizeof(quant::BlockQ4_K);
        Q4KGroupBlock& g = out[b];
        const __m512i dd = gather(blk + offsetof(quant::BlockQ4_K, d));  // d | dmin << 16
        g.d = half_lanes(dd, false);
        g.dmin = half_lanes(dd, true);
        // The 12 scale bytes as in quant/k_scales.h: low 6 bits of entries 0-3 in bytes 0-3 (scales) / 4-7 (mins),
        // entries 4-7 as the nibbles of bytes 8-11 plus the top two bits of bytes 0-7.
        const uint8_t* s = blk + offsetof(quant::BlockQ4_K, scales);
        const __m512i a = gather(s), m = gather(s + 4), c = gather(s + 8);
        const __m512i sc_lo = _mm512_and_si512(a, low6);
        const __m512i sc_hi = _mm512_or_si512(_mm512_and_si512(c, low4), _mm512_and_si512(_mm512_srli_epi32(a, 2), bits45));
        const __m512i mn_lo = _mm512_and_si512(m, low6);
        const __m512i mn_hi = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi32(c, 4), low4),
                                              _mm512_and_si512(_mm512_srli_epi32(m, 2), bits45));
        for (int i = 0; i < 4; ++i) {
            g.scale[i] = byte_of(sc_lo, i);
            g.scale[4 + i] = byte_of(sc_hi, i);
        }
        for (int p = 0; p < 2; ++p) {
            g.mins[p] = _mm512_or_si512(byte_of(mn_lo, 2 * p), _mm512_slli_epi32(byte_of(mn_lo, 2 * p + 1), 16));
            g.mins[2 + p] = _mm512_or_si512(byte_of(mn_hi, 2 * p), _mm512_slli_epi32(byte_of(mn_hi, 2 * p + 1), 16));
        }
        // Element 64c + 32u + l is nibble u of qs[32c + l]: 4 bytes of qs give 4 codes of sub-block 2c and of 2c+1.
        const uint8_t* qs = blk + offsetof(quant::BlockQ4_K, qs);
        for (int c4 = 0; c4 < 4; ++c4) {
            for (int k = 0; k < 8; ++k) {
                const __m512i v = gather(qs + 32 * c4 + 4 * k);
                g.q[8 * (2 * c4) + k] = _mm512_and_si512(v, low4);
                g.q[8 * (2 * c4 + 1) + k] = _mm512_and_si512(_mm512_srli_epi32(v, 4), low4);
            }
        }
    }
}

// Per column and super-block: the sums of the 8 sub-blocks (two groups of 16 each), as int16 pairs (2p, 2p+1)
// that vpdpwssd multiplies with the rows' min pairs. |sum| <= 32 * 128 fits int16.
void q4_k_column_terms(const DotTile& t, int c0, int n_cols, int64_t nb, std::vector<int32_t>& terms) {
    terms.resize(size_t(kMaxCols * nb * 4));
    for (int c = 0; c < n_cols; ++c) {
        const uint8_t* x = t.x + size_t(c0 + c) * t.x_stride;
        for (int64_t b = 0; b < nb; ++b) {
            const __m256i bsums = _mm256_loadu_si256(
                reinterpret_cast<const __m256i*>(x + size_t(b) * sizeof(quant::BlockQ8_K) + kQ8KSums));
            const __m256i pairs = _mm256_hadd_epi16(bsums, bsums);  // sums 0-3 twice | sums 4-7 twice
            const __m128i sums = _mm256_castsi256_si128(_mm256_permute4x64_epi64(pairs, 0x08));
            _mm_storeu_si128(reinterpret_cast<__m128i*>(&terms[size_t(c * nb + b) * 4]), sums);
        }
    }
}

// A group of 16 rows times NC columns: out[(c0 + c) * out_stride + r0 + r]. Per lane (row) and super-block b:
// sum_q = sum_j scale_j * (codes . x over sub-block j), sum_min = sum_j min_j * (x sum of sub-block j), exact;
// then acc += dx * (d * float(sum_q) - dmin * float(sum_min)), as the reference.
template <int NC>
void q4_k_group(const DotTile& t, const Q4KGroupBlock* g, int64_t nb, int c0, const int32_t* terms, int r0,
                __mmask16 live) {
    const uint8_t* x[NC];
    for (int c = 0; c < NC; ++c) x[c] = t.x + size_t(c0 + c) * t.x_stride;
    __m512 acc[NC];
    for (int c = 0; c < NC; ++c) acc[c] = _mm512_setzero_ps();
    for (int64_t b = 0; b < nb; ++b) {
        const Q4KGroupBlock& gb = g[b];
        const size_t xo = size_t(b) * sizeof(quant::BlockQ8_K) + kQ8KCodes;
        __m512i sum_q[NC];
        for (int c = 0; c < NC; ++c) sum_q[c] = _mm512_setzero_si512();
#pragma GCC unroll 8
        for (int j = 0; j < 8; ++j) {
            __m512i s[NC];
            for (int c = 0; c < NC; ++c) s[c] = _mm512_setzero_si512();
#pragma GCC unroll 8
            for (int k = 0; k < 8; ++k) {
                const __m512i w = gb.q[8 * j + k];
                for (int c = 0; c < NC; ++c) {
                    s[c] = _mm512_dpbusd_epi32(s[c], w, _mm512_set1_epi32(load_i32(x[c] + xo + 32 * j + 4 * k)));
                }
            }
            for (int c = 0; c < NC; ++c) sum_q[c] = _mm512_add_epi32(sum_q[c], _mm512_mullo_epi32(s[c], gb.scale[j]));
        }
        for (int c = 0; c < NC; ++c) {
            const int32_t* tc = terms + size_t(c * nb + b) * 4;
            __m512i sum_min = _mm512_setzero_si512();
            for (int p = 0; p < 4; ++p) sum_min = _mm512_dpwssd_epi32(sum_min, gb.mins[p], _mm512_set1_epi32(tc[p]));
            const __m512 dx = _mm512_set1_ps(load_f32(x[c] + size_t(b) * sizeof(quant::BlockQ8_K)));
            const __m512 f = _mm512_sub_ps(_mm512_mul_ps(gb.d, _mm512_cvtepi32_ps(sum_q[c])),
                                           _mm512_mul_ps(gb.dmin, _mm512_cvtepi32_ps(sum_min)));
            acc[c] = _mm512_add_ps(acc[c], _mm512_mul_ps(dx, f));
        }
    }
    for (int c = 0; c < NC; ++c) _mm512_mask_storeu_ps(t.out + size_t(c0 + c) * t.out_stride + r0, live, acc[c]);
}

// ---- Q6_K ----------------------------------------------------------------------------------------------------

struct Q6KGroupBlock {
    __m512i q[64];      // q[4s + k], lane r: codes 16s+4k .. 16s+4k+3 of row r (0..63, the +32 kept), sub-block s
    __m512i scale[16];  // lane r: the signed scale of sub-block s of row r
    __m512 d;
};

void decode_q6_k(const DotTile& t, int r0, int n_rows, int64_t nb, Q6KGroupBlock* out) {
    const RowGather gather(t.w_stride, n_rows);
    const __m512i low4 = _mm512_set1_epi8(0x0F);
    const __m512i low2 = _mm512_set1_epi8(0x03);
    for (int64_t b = 0; b < nb; ++b) {
        const uint8_t* blk = t.w + size_t(r0) * t.w_stride + size_t(b) * sizeof(quant::BlockQ6_K);
        Q6KGroupBlock& g = out[b];
        // d is the block's last 2 bytes: read the 4 ending there so no lane reads past the block.
        g.d = half_lanes(gather(blk + offsetof(quant::BlockQ6_K, d) - 2), true);
        const uint8_t* sc = blk + offsetof(quant::BlockQ6_K, scales);
        for (int i = 0; i < 4; ++i) {
            const __m512i v = gather(sc + 4 * i);
            for (int k = 0; k < 4; ++k) g.scale[4 * i + k] = _mm512_srai_epi32(_mm512_slli_epi32(v, 24 - 8 * k), 24);
        }
        // Element 128h + 64u + l (l < 64): low 4 bits are nibble u of ql[64h + l]; element 128h + 32v + l (l < 32):
        // high 2 bits are bits 2v..2v+1 of qh[32h + l]. 4 consecutive elements read 4 consecutive bytes of each.
        const uint8_t* ql = blk + offsetof(quant::BlockQ6_K, ql);
        const uint8_t* qh = blk + offsetof(quant::BlockQ6_K, qh);
        for (int h = 0; h < 2; ++h) {
            for (int l = 0; l < 32; l += 4) {
                const __m512i high = gather(qh + 32 * h + l);
                const __m512i lo_a = gather(ql + 64 * h + l), lo_b = gather(ql + 64 * h + 32 + l);
                const __m512i lows[4] = {_mm512_and_si512(lo_a, low4), _mm512_and_si512(lo_b, low4),
                                         _mm512_and_si512(_mm512_srli_epi32(lo_a, 4), low4),
                                         _mm512_and_si512(_mm512_srli_epi32(lo_b, 4), low4)};
                for (int v = 0; v < 4; ++v) {
                    const int e = 128 * h + 32 * v + l;  // first element of these 4 codes
                    const __m512i hi2 = _mm512_slli_epi32(_mm512_and_si512(_mm512_srli_epi32(high, 2 * v), low2), 4);
                    g.q[e / 4] = _mm512_or_si512(lows[v], hi2);
                }
            }
        }
    }
}

// Per column and super-block: -32 * the sum of each sub-block of 16 activations, the starting value of that
// sub-block's integer dot (the codes are stored +32).
void q6_k_column_terms(const DotTile& t, int c0, int n_cols, int64_t nb, std::vector<int32_t>& terms) {
    terms.resize(size_t(kMaxCols * nb * 16));
    for (int c = 0; c < n_cols; ++c) {
        const uint8_t* x = t.x + size_t(c0 + c) * t.x_stride;
        for (int64_t b = 0; b < nb; ++b) {
            const __m256i bsums = _mm256_loadu_si256(
                reinterpret_cast<const __m256i*>(x + size_t(b) * sizeof(quant::BlockQ8_K) + kQ8KSums));
            const __m512i neg = _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_slli_epi32(_mm512_cvtepi16_epi32(bsums), 5));
            _mm512_storeu_si512(&terms[size_t(c * nb + b) * 16], neg);
        }
    }
}

// As q4_k_group: per lane and super-block sum_q = sum_s scale_s * ((codes - 32) . x over sub-block s), exact;
// then acc += dx * d * float(sum_q), as the reference ((dx * d) first).
template <int NC>
void q6_k_group(const DotTile& t, const Q6KGroupBlock* g, int64_t nb, int c0, const int32_t* terms, int r0,
                __mmask16 live) {
    const uint8_t* x[NC];
    for (int c = 0; c < NC; ++c) x[c] = t.x + size_t(c0 + c) * t.x_stride;
    __m512 acc[NC];
    for (int c = 0; c < NC; ++c) acc[c] = _mm512_setzero_ps();
    for (int64_t b = 0; b < nb; ++b) {
        const Q6KGroupBlock& gb = g[b];
        const size_t xo = size_t(b) * sizeof(quant::BlockQ8_K) + kQ8KCodes;
        __m512i sum_q[NC];
        for (int c = 0; c < NC; ++c) sum_q[c] = _mm512_setzero_si512();
#pragma GCC unroll 16
        for (int s = 0; s < 16; ++s) {
            __m512i acc_s[NC];
            for (int c = 0; c < NC; ++c) acc_s[c] = _mm512_set1_epi32(terms[size_t(c * nb + b) * 16 + size_t(s)]);
#pragma GCC unroll 4
            for (int k = 0; k < 4; ++k) {
                const __m512i w = gb.q[4 * s + k];
                for (int c = 0; c < NC; ++c) {
                    acc_s[c] = _mm512_dpbusd_epi32(acc_s[c], w, _mm512_set1_epi32(load_i32(x[c] + xo + 16 * s + 4 * k)));
                }
            }
            for (int c = 0; c < NC; ++c) sum_q[c] = _mm512_add_epi32(sum_q[c], _mm512_mullo_epi32(acc_s[c], gb.scale[s]));
        }
        for (int c = 0; c < NC; ++c) {
            const __m512 dx = _mm512_set1_ps(load_f32(x[c] + size_t(b) * sizeof(quant::BlockQ8_K)));
            acc[c] = _mm512_add_ps(acc[c], _mm512_mul_ps(_mm512_mul_ps(dx, gb.d), _mm512_cvtepi32_ps(sum_q[c])));
        }
    }
    for (int c = 0; c < NC; ++c) _mm512_mask_storeu_ps(t.out + size_t(c0 + c) * t.out_stride + r0, live, acc[c]);
}

// ---- the tile walk -------------------------------------------------------------------------------------------

struct Q4K {
    using GroupBlock = Q4KGroupBlock;
    static constexpr auto decode = decode_q4_k;
    static constexpr auto column_terms = q4_k_column_terms;
    template <int NC>
    static void group(const DotTile& t, const GroupBlock* g, int64_t nb, int c0, const int32_t* terms, int r0,
                      __mmask16 live) {
        q4_k_group<NC>(t, g, nb, c0, terms, r0, live);
    }
};

struct Q6K {
    using GroupBlock = Q6KGroupBlock;
    static constexpr auto decode = decode_q6_k;
    static constexpr auto column_terms = q6_k_column_terms;
    template <int NC>
    static void group(const DotTile& t, const GroupBlock* g, int64_t nb, int c0, const int32_t* terms, int r0,
                      __mmask16 live) {
        q6_k_group<NC>(t, g, nb, c0, terms, r0, live);
    }
};

template <class K>
void gemm(const DotTile& t) {
    const int64_t nb = t.n / quant::QK_K;
    const int n_groups = (t.n_rows + kGroupRows - 1) / kGroupRows;
    // Per thread, grown once: the decoded rows (64 rows of 3072 columns of Q4_K: ~250 KB, L2-sized).
    thread_local std::vector<typename K::GroupBlock> groups;
    thread_local std::vector<int32_t> terms;
    groups.resize(size_t(n_groups * nb));
    for (int g = 0; g < n_groups; ++g) {
        K::decode(t, g * kGroupRows, std::min(kGroupRows, t.n_rows - g * kGroupRows), nb, groups.data() + size_t(g * nb));
    }
    // Columns outer: a pass's activations (8 columns x n) stay in L1 while every group goes over them.
    for (int c0 = 0; c0 < t.n_cols; c0 += kMaxCols) {
        const int nc = std::min(kMaxCols, t.n_cols - c0);
        K::column_terms(t, c0, nc, nb, terms);
        for (int g = 0; g < n_groups; ++g) {
            const typename K::GroupBlock* gb = groups.data() + size_t(g * nb);
            const int r0 = g * kGroupRows;
            const __mmask16 live = __mmask16((1u << std::min(kGroupRows, t.n_rows - r0)) - 1);
            switch (nc) {
                case 1: K::template group<1>(t, gb, nb, c0, terms.data(), r0, live); break;
                case 2: K::template group<2>(t, gb, nb, c0, terms.data(), r0, live); break;
                case 3: K::template group<3>(t, gb, nb, c0, terms.data(), r0, live); break;
                case 4: K::template group<4>(t, gb, nb, c0, terms.data(), r0, live); break;
                case 5: K::template group<5>(t, gb, nb, c0, terms.data(), r0, live); break;
                case 6: K::template group<6>(t, gb, nb, c0, terms.data(), r0, live); break;
                case 7: K::template group<7>(t, gb, nb, c0, terms.data(), r0, live); break;
                default: K::template group<8>(t, gb, nb, c0, terms.data(), r0, live); break;
            }
        }
    }
}

}  // namespace

void gemm_q4_k_avx512(const DotTile& t) { gemm<Q4K>(t); }
void gemm_q6_k_avx512(const DotTile& t) { gemm<Q6K>(t); }

}  // namespace hotrod::cpu::kernels
