// The tile loop shared by the 32-element SIMD kernels (include only from *_avx2.cpp / *_avx512.cpp files):
// for each weight row, each block is unpacked once and multiplied into every activation column, with the column
// count a template constant so the accumulators live in registers. Everything here has internal linkage, so a
// helper compiled with AVX-512 flags can never be picked by the linker for an AVX2 caller.
#pragma once

#include <immintrin.h>

#include <cstring>
#include <type_traits>

#include "cpu/dot.h"
#include "quant/blocks.h"

namespace hotrod::cpu {
namespace {

inline float hsum_ps(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

inline float half_to_float(uint16_t h) { return _cvtsh_ss(h); }

// Unpacks the 32 4-bit codes of a block into bytes 0..31 (element order: low nibbles, then high nibbles).
inline __m256i unpack_nibbles(const uint8_t* qs) {
#if defined(__AVX512BW__) && defined(__AVX512VL__)
    // The 16 bytes in both halves, the upper half shifted to its high nibbles: three instructions, not five.
    const __m256i both = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(qs)));
    return _mm256_and_si256(_mm256_mask_srli_epi16(both, 0xFF00, both, 4), _mm256_set1_epi8(0x0f));
#else
    const __m128i packed = _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs));
    const __m128i lo = _mm_and_si128(packed, _mm_set1_epi8(0x0f));
    const __m128i hi = _mm_and_si128(_mm_srli_epi16(packed, 4), _mm_set1_epi8(0x0f));
    return _mm256_set_m128i(hi, lo);
#endif
}

#if defined(__AVX512BW__) && defined(__AVX512VL__)
// The fifth bits of a Q5 block: byte j is 0x10 when bit j of its 32-bit qh is set (qh is directly a byte mask).
inline __m256i fifth_bits(const uint8_t* qh) {
    uint32_t h;
    std::memcpy(&h, qh, 4);
    return _mm256_maskz_set1_epi8(__mmask32(h), 0x10);
}
#endif

inline __m256i load_q8(const quant::BlockQ8_0& x) {
    return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x.qs));
}

// Sum over groups of 4 of u8 * s8 products into 8 int32 lanes: vpdpbusd where the file is built with VNNI,
// otherwise vpmaddubsw + vpmaddwd (no saturation here: |u| <= 255 only for Q8_0's |w| <= 128, and
// 128 * 127 * 2 < 32767).
inline __m256i dot_u8s8(__m256i u, __m256i s) {
#if defined(__AVX512VNNI__) && defined(__AVX512VL__)
    return _mm256_dpbusd_epi32(_mm256_setzero_si256(), u, s);
#else
    return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1));
#endif
}

// A block of signed codes w with scale d: sum(w * x) via |w| * (x with w's sign).
struct SignedBlock {
    __m256i abs_w, w;
    float d;
};
inline __m256 fma_signed(const SignedBlock& u, const quant::BlockQ8_0& x, __m256 acc) {
    const __m256i p = dot_u8s8(u.abs_w, _mm256_sign_epi8(load_q8(x), u.w));
    return _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), _mm256_set1_ps(u.d * half_to_float(x.d)), acc);
}

// A block of unsigned codes q with scale d and offset m: d * d_x * sum(q * x) + m * s_x. d and m sit side by side
// (lanes 0 and 1 of dm), converted from the block's two fp16 fields in one instruction.
struct MinBlock {
    __m256i q;
    __m128 dm;
};
inline __m128 load_dm(const quant::half_t* d_then_m) {
    uint32_t both;
    std::memcpy(&both, d_then_m, sizeof both);
    return _mm_cvtph_ps(_mm_cvtsi32_si128(int(both)));
}
// The activation block is Q8_1: its fp16-rounded sum s is used as stored (see quant/blocks.h), spread over
// the 8 lanes so the horizontal sum adds it back once. The two block scalars, d * d_x and m * s_x / 8, are formed
// in one pair of lanes (x's d and s are adjacent floats): the same float products as two scalar ones.
inline __m256 fma_min(const MinBlock& u, const quant::BlockQ8_1& x, __m256 acc) {
    const __m256i xq = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x.qs));
    const __m256i p = dot_u8s8(u.q, xq);
    // x.d and x.s as 8 bytes through an unaligned integer load (the block is only 4-byte aligned).
    const __m128 xds = _mm_castsi128_ps(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(&x.d)));
    const __m128 terms = _mm_mul_ps(_mm_mul_ps(u.dm, xds), _mm_setr_ps(1.0f, 0.125f, 0.0f, 0.0f));
    acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), _mm256_broadcastss_ps(terms), acc);
    return _mm256_add_ps(acc, _mm256_broadcastss_ps(_mm_movehdup_ps(terms)));
}

// fma_min for two rows' blocks against one activation block (the decode walk, rows in pairs): both rows' d and m
// converted in one instruction and multiplied by x's d and s in one, four scalars spread by lane permutes. The same
// float products as fma_min's, so the same bits; fewer vector uops, which bound this loop on Intel cores.
inline void fma_min_pair(__m256i q0, __m256i q1, const quant::half_t* dm0, const quant::half_t* dm1,
                         const quant::BlockQ8_1& x, __m256& acc0, __m256& acc1) {
    uint32_t a, b;
    std::memcpy(&a, dm0, sizeof a);
    std::memcpy(&b, dm1, sizeof b);
    const __m128 dm = _mm_cvtph_ps(_mm_unpacklo_epi32(_mm_cvtsi32_si128(int(a)), _mm_cvtsi32_si128(int(b))));
    double ds;  // x.d and x.s, twice
    std::memcpy(&ds, &x.d, sizeof ds);
    const __m128 xds = _mm_castpd_ps(_mm_set1_pd(ds));
    const __m256 t = _mm256_castps128_ps256(_mm_mul_ps(_mm_mul_ps(dm, xds), _mm_setr_ps(1.0f, 0.125f, 1.0f, 0.125f)));
    const __m256i xq = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x.qs));
    const __m256 p0 = _mm256_cvtepi32_ps(dot_u8s8(q0, xq)), p1 = _mm256_cvtepi32_ps(dot_u8s8(q1, xq));
    acc0 = _mm256_fmadd_ps(p0, _mm256_permutevar8x32_ps(t, _mm256_set1_epi32(0)), acc0);
    acc0 = _mm256_add_ps(acc0, _mm256_permutevar8x32_ps(t, _mm256_set1_epi32(1)));
    acc1 = _mm256_fmadd_ps(p1, _mm256_permutevar8x32_ps(t, _mm256_set1_epi32(2)), acc1);
    acc1 = _mm256_add_ps(acc1, _mm256_permutevar8x32_ps(t, _mm256_set1_epi32(3)));
}

// K provides: using Block (weight block type); struct Unpacked; static Unpacked unpack(const Block&);
// static __m256 fma(const Unpacked&, const Act&, __m256 acc) adding this block's 8 partial lanes to acc, where
// Act is K::Act when K names one (Q8_1 for the formats with a min), else BlockQ8_0.
template <class K>
struct ActOf { using type = quant::BlockQ8_0; };
template <class K>
    requires requires { typename K::Act; }
struct ActOf<K> { using type = typename K::Act; };

constexpr size_t kQ32PrefetchBytes = 4096;

// One weight row (or, with R = 2, two neighbouring rows) times NC activation columns: each (row, column) pair has
// its own 8-lane accumulator taking the same steps in the same order, so the bits do not depend on R or NC.
template <class K, int NC, int R>
void q32_rows_cols(const DotTile& t, int c0, int r0) {
    using Block = typename K::Block;
    using Act = typename ActOf<K>::type;
    const int64_t n_blocks = t.n / quant::QK;
    const Act* xs[NC];
    for (int c = 0; c < NC; ++c) xs[c] = reinterpret_cast<const Act*>(t.x + size_t(c0 + c) * t.x_stride);
    const Block* w[R];
    for (int i = 0; i < R; ++i) w[i] = reinterpret_cast<const Block*>(t.w + size_t(r0 + i) * t.w_stride);
    __m256 acc[R][NC];
    for (int i = 0; i < R; ++i)
        for (int c = 0; c < NC; ++c) acc[i][c] = _mm256_setzero_ps();
    for (int64_t b = 0; b < n_blocks; ++b) {
        if constexpr (R == 2 && NC == 1 && std::is_same_v<typename K::Unpacked, MinBlock>) {
            _mm_prefetch(reinterpret_cast<const char*>(w[0] + b) + kQ32PrefetchBytes, _MM_HINT_T0);
            _mm_prefetch(reinterpret_cast<const char*>(w[1] + b) + kQ32PrefetchBytes, _MM_HINT_T0);
            fma_min_pair(K::unpack(w[0][b]).q, K::unpack(w[1][b]).q, &w[0][b].d, &w[1][b].d, xs[0][b], acc[0][0], acc[1][0]);
            continue;
        }
        for (int i = 0; i < R; ++i) {
            // The weights stream once, row after row: a software prefetch 4 KiB ahead (one a block, so every line
            // is asked for) keeps more reads in flight than the hardware prefetchers alone (Q8_0 GEMV, 2 threads:
            // 53% of the read bandwidth without it, 87% with it).
            _mm_prefetch(reinterpret_cast<const char*>(w[i] + b) + kQ32PrefetchBytes, _MM_HINT_T0);
            const typename K::Unpacked u = K::unpack(w[i][b]);
            for (int c = 0; c < NC; ++c) acc[i][c] = K::fma(u, xs[c][b], acc[i][c]);
        }
    }
    for (int i = 0; i < R; ++i)
        for (int c = 0; c < NC; ++c) t.out[size_t(c0 + c) * t.out_stride + size_t(r0 + i)] = hsum_ps(acc[i][c]);
}

// A single column (a decode step's GEMV) takes rows in pairs: each block's accumulator steps (an FMA, and for the
// formats with a min an add after it) form a chain of latencies through the row, and a second row's independent
// chain fills the wait (Q4_1 GEMV at 2 threads: 46% of the read bandwidth with one chain).
template <class K, int NC>
void q32_tile_cols(const DotTile& t, int c0) {
    int r = 0;
    if constexpr (NC == 1)
        for (; r + 1 < t.n_rows; r += 2) q32_rows_cols<K, NC, 2>(t, c0, r);
    for (; r < t.n_rows; ++r) q32_rows_cols<K, NC, 1>(t, c0, r);
}

template <class K>
void q32_tile(const DotTile& t) {
    for (int c0 = 0; c0 < t.n_cols; c0 += 8) {
        switch (t.n_cols - c0 >= 8 ? 8 : t.n_cols - c0) {
            case 1: q32_tile_cols<K, 1>(t, c0); break;
            case 2: q32_tile_cols<K, 2>(t, c0); break;
            case 3: q32_tile_cols<K, 3>(t, c0); break;
            case 4: q32_tile_cols<K, 4>(t, c0); break;
            case 5: q32_tile_cols<K, 5>(t, c0); break;
            case 6: q32_tile_cols<K, 6>(t, c0); break;
            case 7: q32_tile_cols<K, 7>(t, c0); break;
            default: q32_tile_cols<K, 8>(t, c0); break;
        }
    }
}

}  // namespace
}  // namespace hotrod::cpu
