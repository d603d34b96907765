// Many-column tile kernels of the 32-element formats, AVX-512 VL + VNNI (see gemm_q32.h for the idea). Weights
// are decoded to unsigned codes (Q4_0: q, Q5_0: q | fifth bit, Q8_0: q + 128; the formats with a min keep q) so
// they can be vpdpbusd's unsigned operand, and the activations' signed bytes come in as 4-byte broadcasts from
// memory. The offset of the "- offset" formats is taken off in integers (offset * the activation block's sum,
// computed once per column), so each block's dot is exact before the one float multiply-add by d_w * d_x; the
// formats with a min add m_w * s_x as their dot kernels do. Scalar references: quant::dot_ref_q* per row pair.
#include <algorithm>
#include <cstring>
#include <vector>

#include "cpu/dot_tile_simd.h"
#include "cpu/gemm_q32.h"
#include "quant/blocks.h"

namespace hotrod::cpu::kernels {
namespace {

constexpr int kGroupRows = 8;  // rows per interleaved group: the 8 int32 lanes of a ymm
constexpr int kMaxCols = 8;    // activation columns per pass over a group (8 accumulators + 8 weight registers)

// One block of a group of 8 rows: w[k] holds bytes 4k..4k+3 of each row's 32 codes (row r in int32 lane r),
// d the rows' scales, m their mins (formats with a min only).
struct alignas(32) GroupBlock {
    __m256i w[8];
    __m256 d, m;
};

struct Decoded {
    __m256i q;  // 32 unsigned codes in element order
    float d, m;
};

inline int32_t load_i32(const uint8_t* p) {
    int32_t v;
    std::memcpy(&v, p, sizeof v);
    return v;
}

// Formats: the block type, its codes as unsigned bytes, and the offset subtracted from them (0 for the formats
// with a min).
struct Q4_0 {
    using Block = quant::BlockQ4_0;
    static constexpr int kOffset = 8;
    static Decoded decode(const Block& b) { return {unpack_nibbles(b.qs), half_to_float(b.d), 0.0f}; }
};
struct Q4_1 {
    using Block = quant::BlockQ4_1;
    static constexpr int kOffset = 0;
    static Decoded decode(const Block& b) { return {unpack_nibbles(b.qs), half_to_float(b.d), half_to_float(b.m)}; }
};
struct Q5_0 {
    using Block = quant::BlockQ5_0;
    static constexpr int kOffset = 16;
    static Decoded decode(const Block& b) {
        return {_mm256_or_si256(unpack_nibbles(b.qs), fifth_bits(b.qh)), half_to_float(b.d), 0.0f};
    }
};
struct Q5_1 {
    using Block = quant::BlockQ5_1;
    static constexpr int kOffset = 0;
    static Decoded decode(const Block& b) {
        return {_mm256_or_si256(unpack_nibbles(b.qs), fifth_bits(b.qh)), half_to_float(b.d), half_to_float(b.m)};
    }
};
struct Q8_0 {
    using Block = quant::BlockQ8_0;
    static constexpr int kOffset = 128;
    static Decoded decode(const Block& b) {
        return {_mm256_xor_si256(load_q8(b), _mm256_set1_epi8(char(0x80))), half_to_float(b.d), 0.0f};
    }
};

// The activation block layout of a format: Q8_0 (fp16 d, 32 int8) or Q8_1 (float d, float s, 32 int8).
template <class K>
struct ActLayout {
    static constexpr bool kMin = K::kOffset == 0;
    static constexpr size_t kBlockBytes = kMin ? sizeof(quant::BlockQ8_1) : sizeof(quant::BlockQ8_0);
    static constexpr size_t kCodes = kMin ? offsetof(quant::BlockQ8_1, qs) : offsetof(quant::BlockQ8_0, qs);
};

// rows[i] int32 lane j -> rows[j] int32 lane i (an 8 x 8 transpose of 4-byte groups).
inline void transpose_8x8_epi32(__m256i r[8]) {
    __m256i t[8], u[8];
    for (int i = 0; i < 8; i += 2) {
        t[i] = _mm256_unpacklo_epi32(r[i], r[i + 1]);
        t[i + 1] = _mm256_unpackhi_epi32(r[i], r[i + 1]);
    }
    for (int i = 0; i < 8; i += 4) {
        u[i] = _mm256_unpacklo_epi64(t[i], t[i + 2]);
        u[i + 1] = _mm256_unpackhi_epi64(t[i], t[i + 2]);
        u[i + 2] = _mm256_unpacklo_epi64(t[i + 1], t[i + 3]);
        u[i + 3] = _mm256_unpackhi_epi64(t[i + 1], t[i + 3]);
    }
    for (int i = 0; i < 4; ++i) {
        r[i] = _mm256_permute2x128_si256(u[i], u[i + 4], 0x20);
        r[i + 4] = _mm256_permute2x128_si256(u[i], u[i + 4], 0x31);
    }
}

// Rows r0 .. r0 + n_rows - 1 (n_rows <= 8; missing rows decode as zeros) into nb GroupBlocks.
template <class K>
void decode_group(const DotTile& t, int r0, int n_rows, int64_t nb, GroupBlock* out) {
    for (int64_t b = 0; b < nb; ++b) {
        __m256i q[kGroupRows];
        alignas(32) float d[kGroupRows] = {}, m[kGroupRows] = {};
        for (int r = 0; r < kGroupRows; ++r) {
            if (r >= n_rows) {
                q[r] = _mm256_setzero_si256();
                continue;
            }
            const auto* row = reinterpret_cast<const typename K::Block*>(t.w + size_t(r0 + r) * t.w_stride);
            const Decoded dec = K::decode(row[b]);
            q[r] = dec.q;
            d[r] = dec.d;
            m[r] = dec.m;
        }
        transpose_8x8_epi32(q);
        for (int k = 0; k < 8; ++k) _mm256_store_si256(&out[b].w[k], q[k]);
        out[b].d = _mm256_load_ps(d);
        out[b].m = _mm256_load_ps(m);
    }
}

// Per column and block of a pass: the activation scale, and either minus the offset times the sum of each
// 4-code group (8 int32, the starting value of that group's dot) or the stored s (formats with a min).
struct ColumnTerms {
    std::vector<float> d;          // [c * nb + b]
    std::vector<int32_t> neg_sum;  // [(c * nb + b) * 8 + k]
    std::vector<float> s;          // [c * nb + b]
};

template <class K>
void column_terms(const DotTile& t, int c0, int n_cols, int64_t nb, ColumnTerms& ct) {
    using A = ActLayout<K>;
    ct.d.resize(size_t(kMaxCols * nb));
    ct.neg_sum.resize(size_t(kMaxCols * nb * 8));
    ct.s.resize(size_t(kMaxCols * nb));
    const __m256i offset = _mm256_set1_epi8(char(uint8_t(K::kOffset)));
    for (int c = 0; c < n_cols; ++c) {
        const uint8_t* x = t.x + size_t(c0 + c) * t.x_stride;
        for (int64_t b = 0; b < nb; ++b, x += A::kBlockBytes) {
            const size_t i = size_t(c * nb + b);
            if constexpr (A::kMin) {
                const auto* blk = reinterpret_cast<const quant::BlockQ8_1*>(x);
                std::memcpy(&ct.d[i], &blk->d, sizeof(float));
                std::memcpy(&ct.s[i], &blk->s, sizeof(float));
            } else {
                ct.d[i] = half_to_float(reinterpret_cast<const quant::BlockQ8_0*>(x)->d);
                const __m256i q = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + A::kCodes));
                const __m256i sums = _mm256_dpbusd_epi32(_mm256_setzero_si256(), offset, q);
                _mm256_storeu_si256(reinterpret_cast<__m256i*>(&ct.neg_sum[i * 8]),
                                    _mm256_sub_epi32(_mm256_setzero_si256(), sums));
            }
        }
    }
}

// One group of 8 rows times NC (1 or 2) columns: out[(c0 + c) * out_stride + r0 + r]; the columns' terms are
// ct's columns first_term .. first_term + NC - 1. The float sums are the
// dot kernels' (dot_tile_simd.h), bit for bit, so a sequence's logits do not depend on whether its tokens went
// through the GEMV or the GEMM path: acc[c][k] plays the dot kernel's lane k (the 4 codes 4k..4k+3 of every
// block), gets the same exact integer, the same scale and the same min term per block, and the 8 lanes are
// added in hsum_ps's order at the end.
template <class K, int NC>
void group_times_columns(const DotTile& t, const GroupBlock* g, int64_t nb, int c0, const ColumnTerms& ct,
                         int first_term, int r0, int n_rows) {
    using A = ActLayout<K>;
    const uint8_t* x[NC];
    for (int c = 0; c < NC; ++c) x[c] = t.x + size_t(c0 + c) * t.x_stride + A::kCodes;
    __m256 acc[NC][8];
    for (int c = 0; c < NC; ++c)
        for (int k = 0; k < 8; ++k) acc[c][k] = _mm256_setzero_ps();
    for (int64_t b = 0; b < nb; ++b) {
        const GroupBlock& gb = g[b];
        const size_t xo = size_t(b) * A::kBlockBytes;
        for (int c = 0; c < NC; ++c) {
            const size_t i = size_t((first_term + c) * nb + b);
            const __m256 scale = _mm256_mul_ps(gb.d, _mm256_set1_ps(ct.d[i]));
            __m256 min_term = _mm256_setzero_ps();
            if constexpr (A::kMin) min_term = _mm256_mul_ps(_mm256_mul_ps(gb.m, _mm256_set1_ps(ct.s[i])), _mm256_set1_ps(0.125f));
            for (int k = 0; k < 8; ++k) {
                const __m256i start = A::kMin ? _mm256_setzero_si256() : _mm256_set1_epi32(ct.neg_sum[i * 8 + size_t(k)]);
                const __m256i s = _mm256_dpbusd_epi32(start, gb.w[k], _mm256_set1_epi32(load_i32(x[c] + xo + 4 * k)));
                acc[c][k] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s), scale, acc[c][k]);
                if constexpr (A::kMin) acc[c][k] = _mm256_add_ps(acc[c][k], min_term);
            }
        }
    }
    const __mmask8 rows = __mmask8((1u << n_rows) - 1);
    for (int c = 0; c < NC; ++c) {
        const __m256* a = acc[c];
        const __m256 sum = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(a[0], a[4]), _mm256_add_ps(a[2], a[6])),
                                         _mm256_add_ps(_mm256_add_ps(a[1], a[5]), _mm256_add_ps(a[3], a[7])));
        _mm256_mask_storeu_ps(t.out + size_t(c0 + c) * t.out_stride + r0, rows, sum);
    }
}

template <class K>
void gemm(const DotTile& t) {
    const int64_t nb = t.n / quant::QK;
    const int n_groups = (t.n_rows + kGroupRows - 1) / kGroupRows;
    // Per thread, grown once: the decoded rows (n_rows x n of a 64-row tile of 2048 columns is 160 KB, L2-sized).
    thread_local std::vector<GroupBlock> groups;
    thread_local ColumnTerms terms;
    groups.resize(size_t(n_groups * nb));
    for (int g = 0; g < n_groups; ++g) {
        decode_group<K>(t, g * kGroupRows, std::min(kGroupRows, t.n_rows - g * kGroupRows), nb,
                        groups.data() + size_t(g * nb));
    }
    // Columns outer: a pass's activations (8 columns x n) stay in L1 while every group goes over them.
    for (int c0 = 0; c0 < t.n_cols; c0 += kMaxCols) {
        const int nc = std::min(kMaxCols, t.n_cols - c0);
        column_terms<K>(t, c0, nc, nb, terms);
        for (int g = 0; g < n_groups; ++g) {
            const GroupBlock* gb = groups.data() + size_t(g * nb);
            const int r0 = g * kGroupRows, nr = std::min(kGroupRows, t.n_rows - r0);
            for (int c = 0; c < nc; c += 2) {
                if (nc - c >= 2) group_times_columns<K, 2>(t, gb, nb, c0 + c, terms, c, r0, nr);
                else group_times_columns<K, 1>(t, gb, nb, c0 + c, terms, c, r0, nr);
            }
        }
    }
}

}  // namespace

void gemm_q4_0_avx512(const DotTile& t) { gemm<Q4_0>(t); }
void gemm_q4_1_avx512(const DotTile& t) { gemm<Q4_1>(t); }
void gemm_q5_0_avx512(const DotTile& t) { gemm<Q5_0>(t); }
void gemm_q5_1_avx512(const DotTile& t) { gemm<Q5_1>(t); }
void gemm_q8_0_avx512(const DotTile& t) { gemm<Q8_0>(t); }

}  // namespace hotrod::cpu::kernels
