// The tile walks shared by the K-format SIMD kernels (dot_q*_k_avx2.cpp / _avx512.cpp): dot_tile takes rows one by
// one, columns in groups of up to 8, each weight super-block decoded once per group and used for every column of
// it (a kernel supplies Block, decode(), dot() and reduce()); dot_tile_runs (AVX-512 Q4_K / Q6_K) does the same in
// runs of 8 super-blocks, whose exact integer sums take the reference's float steps in 8 lanes. Everything here
// has internal linkage: each kernel file compiles it with its own target flags, and an AVX-512 copy must never
// stand in for the AVX2 one at link time.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>

#if defined(__AVX2__)
#include <immintrin.h>
#endif

#include "cpu/dot.h"
#include "quant/blocks.h"
#include "quant/half.h"

namespace hotrod::cpu {
namespace {

constexpr int kMaxColsPerGroup = 8;

// Unaligned little-endian loads of block fields (blocks sit at any byte offset inside a row).
inline float load_f32(const uint8_t* p) {
    float v;
    std::memcpy(&v, p, sizeof v);
    return v;
}
inline uint16_t load_u16(const uint8_t* p) {
    uint16_t v;
    std::memcpy(&v, p, sizeof v);
    return v;
}
inline uint32_t load_u32(const uint8_t* p) {
    uint32_t v;
    std::memcpy(&v, p, sizeof v);
    return v;
}

#if defined(__AVX2__)
inline float hsum_avx2(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

// Scale vectors for the formats with 16 sub-blocks of 16 (Q2_K, Q3_K, Q6_K), from the 16 scales as int16 in
// order: out[g] has scale 2g in int16 lanes 0-7 and scale 2g+1 in lanes 8-15, matching maddubs of elements
// 32g..32g+31.
inline void pair_scales_avx2(__m256i scales16, __m256i out[8]) {
    const __m256i first8 = _mm256_permute2x128_si256(scales16, scales16, 0x00);
    const __m256i last8 = _mm256_permute2x128_si256(scales16, scales16, 0x11);
    for (int g = 0; g < 8; ++g) {
        const int k = g % 4;  // word 2k of the source lane into the low lane, word 2k+1 into the high lane
        const __m256i pick = _mm256_set_m128i(_mm_set1_epi16(int16_t(0x0100 * (4 * k + 3) + 4 * k + 2)),
                                              _mm_set1_epi16(int16_t(0x0100 * (4 * k + 1) + 4 * k)));
        out[g] = _mm256_shuffle_epi8(g < 4 ? first8 : last8, pick);
    }
}

// fp16 bits -> float with F16C (both SIMD flag sets include it).
inline float half_to_f32(uint16_t h) { return _cvtsh_ss(h); }
#endif

#if defined(__AVX512F__)
// vpermw index tables: for 16 sub-blocks of 16, vector m takes scale 4m+i into the 8 words of 128-bit lane i.
alignas(64) constexpr auto kLaneScalePick = [] {
    struct { int16_t w[4][32]; } t{};
    for (int m = 0; m < 4; ++m)
        for (int i = 0; i < 32; ++i) t.w[m][i] = int16_t(4 * m + i / 8);
    return t;
}();

// Scale vectors for the formats with 16 sub-blocks of 16 (see kLaneScalePick), from the 16 scales as int16.
inline void lane_scales_avx512(__m256i scales16, __m512i out[4]) {
    const __m512i wide = _mm512_zextsi256_si512(scales16);
    for (int m = 0; m < 4; ++m) out[m] = _mm512_permutexvar_epi16(_mm512_load_si512(kLaneScalePick.w[m]), wide);
}

// Byte masks selecting bit 2m in the lower 32 bytes and bit 2m+1 in the upper 32: the high bit of elements
// 64m..64m+63 when a 32-byte bit plane (Q3_K hmask, Q5_K qh) is broadcast to both halves.
alignas(64) constexpr auto kBitPlanePick = [] {
    struct { uint8_t b[4][64]; } t{};
    for (int m = 0; m < 4; ++m)
        for (int i = 0; i < 64; ++i) t.b[m][i] = uint8_t(1u << (2 * m + i / 32));
    return t;
}();

// Folds the upper 256 bits onto the lower with a lane shuffle (GCC 12's extract intrinsics trip
// -Wmaybe-uninitialized through their undefined pass-through operand).
inline float hsum_avx512(__m512 v) {
    const __m512 folded = _mm512_add_ps(v, _mm512_shuffle_f32x4(v, v, 0x4E));
    return hsum_avx2(_mm512_castps512_ps256(folded));
}

// The totals of 8 int32 vectors of 8 lanes, vector i's total in lane i (exact: integer adds in any order).
inline __m256i transpose_sum8_epi32(const __m256i v[8]) {
    const __m256i a0 = _mm256_hadd_epi32(v[0], v[1]), a1 = _mm256_hadd_epi32(v[2], v[3]);
    const __m256i a2 = _mm256_hadd_epi32(v[4], v[5]), a3 = _mm256_hadd_epi32(v[6], v[7]);
    const __m256i b0 = _mm256_hadd_epi32(a0, a1);  // v0-v3, lanes 0-3 | v0-v3, lanes 4-7
    const __m256i b1 = _mm256_hadd_epi32(a2, a3);  // v4-v7 likewise
    return _mm256_add_epi32(_mm256_permute2x128_si256(b0, b1, 0x20), _mm256_permute2x128_si256(b0, b1, 0x31));
}

// The same for 16-lane vectors: each folded to 8 lanes first.
inline __m256i transpose_sum8_epi32(const __m512i v[8]) {
    __m256i h[8];
    for (int i = 0; i < 8; ++i) {
        h[i] = _mm512_castsi512_si256(_mm512_add_epi32(v[i], _mm512_shuffle_i32x4(v[i], v[i], 0x4E)));
    }
    return transpose_sum8_epi32(h);
}

constexpr int kRunBlocks = 8;  // super-blocks per run of dot_runs: the 8 lanes of a ymm
constexpr size_t kPrefetchBytes = 4096;

// The walk of the Q4_K / Q6_K AVX-512 kernels, whose float steps are the reference's, per super-block and in order
// (so they equal quant::dot_ref_q*_k and the many-column kernels bit for bit). The tile's super-blocks are taken in
// memory order, row after row, in runs of 8 (a run may end one row and start the next: Qwen3's 1024-wide rows hold
// only 4); columns in groups of up to 8, each block decoded once per group. K::partial gives each block's integer
// partial sums (16 + 8 lanes) per column; the run's 8 totals are reduced into the 8 lanes of one vector together
// (block j in lane j: no horizontal sum per block), K::term takes the reference's float steps in those lanes, and
// the terms are added to their row's sum one by one, in order. The weights stream front to back as dot_tile reads
// them: taking 8 rows side by side instead was measured 1.3-3.8x slower from DRAM (the prefetchers follow 8
// interleaved streams badly). K provides kBlockBytes, Block, decode(), Scales (set() lane by lane), partial(), term().
template <class K, int NC>
void dot_runs(const DotTile& t, int c0) {
    const int64_t n_blocks = t.n / quant::QK_K;
    const int64_t n_total = int64_t(t.n_rows) * n_blocks;
    const uint8_t* xs[NC];
    for (int c = 0; c < NC; ++c) xs[c] = t.x + size_t(c0 + c) * t.x_stride;
    float acc[NC] = {};
    int r = 0;        // row and block of the next block to decode
    int64_t b = 0;
    int r_sum = 0;    // row whose sum acc holds
    for (int64_t k0 = 0; k0 < n_total; k0 += kRunBlocks) {
        const int n_run = int(std::min<int64_t>(kRunBlocks, n_total - k0));
        typename K::Scales scales{};
        __m512i main[NC][kRunBlocks];
        __m256i extra[NC][kRunBlocks];
        int64_t block_of[kRunBlocks] = {};
        for (int j = 0; j < kRunBlocks; ++j) {
            if (j >= n_run) {  // the tile's ragged last run: zero lanes, never added
                for (int c = 0; c < NC; ++c) {
                    main[c][j] = _mm512_setzero_si512();
                    extra[c][j] = _mm256_setzero_si256();
                }
                continue;
            }
            typename K::Block blk;
            const uint8_t* p = t.w + size_t(r) * t.w_stride + size_t(b) * K::kBlockBytes;
            for (size_t o = 0; o < K::kBlockBytes; o += 64) _mm_prefetch(reinterpret_cast<const char*>(p + kPrefetchBytes + o), _MM_HINT_T0);
            K::decode(p, blk);
            scales.set(j, blk);
            for (int c = 0; c < NC; ++c) K::partial(blk, xs[c] + size_t(b) * sizeof(quant::BlockQ8_K), main[c][j], extra[c][j]);
            block_of[j] = b;
            if (++b == n_blocks) {
                b = 0;
                ++r;
            }
        }
        alignas(32) float terms[NC][kRunBlocks];
        for (int c = 0; c < NC; ++c) {
            alignas(32) float dx[kRunBlocks] = {};
            for (int j = 0; j < n_run; ++j) dx[j] = load_f32(xs[c] + size_t(block_of[j]) * sizeof(quant::BlockQ8_K));
            _mm256_store_ps(terms[c], K::term(scales, _mm256_load_ps(dx), transpose_sum8_epi32(main[c]),
                                              transpose_sum8_epi32(extra[c])));
        }
        for (int j = 0; j < n_run; ++j) {
            for (int c = 0; c < NC; ++c) acc[c] += terms[c][j];
            if (block_of[j] == n_blocks - 1) {  // the row's last block: its sum is complete
                for (int c = 0; c < NC; ++c) {
                    t.out[size_t(c0 + c) * t.out_stride + size_t(r_sum)] = acc[c];
                    acc[c] = 0.0f;
                }
                ++r_sum;
            }
        }
    }
}

template <class K>
void dot_tile_runs(const DotTile& t) {
    for (int c0 = 0; c0 < t.n_cols; c0 += kMaxColsPerGroup) {
        switch (std::min(kMaxColsPerGroup, t.n_cols - c0)) {
            case 1: dot_runs<K, 1>(t, c0); break;
            case 2: dot_runs<K, 2>(t, c0); break;
            case 3: dot_runs<K, 3>(t, c0); break;
            case 4: dot_runs<K, 4>(t, c0); break;
            case 5: dot_runs<K, 5>(t, c0); break;
            case 6: dot_runs<K, 6>(t, c0); break;
            case 7: dot_runs<K, 7>(t, c0); break;
            default: dot_runs<K, 8>(t, c0); break;
        }
    }
}
#endif

// The 8 six-bit scales and 8 mins of a Q4_K/Q5_K super-block (12 packed bytes, layout in quant/k_scales.h), as
// 8 bytes each: bytes 0-3 hold the low 6 bits of entries 0-3, bytes 8-11 the low nibbles of entries 4-7, and the
// top two bits of entries 4-7 sit in bits 6-7 of bytes 0-3 (scales) or 4-7 (mins).
inline void unpack_scales_mins_k4(const uint8_t* s, uint64_t& scales, uint64_t& mins) {
    const uint32_t a = load_u32(s), b = load_u32(s + 4), c = load_u32(s + 8);
    const uint32_t scales_hi = (c & 0x0f0f0f0fu) | ((a >> 2) & 0x30303030u);
    const uint32_t mins_hi = ((c >> 4) & 0x0f0f0f0fu) | ((b >> 2) & 0x30303030u);
    scales = (a & 0x3f3f3f3fu) | uint64_t(scales_hi) << 32;
    mins = (b & 0x3f3f3f3fu) | uint64_t(mins_hi) << 32;
}

// The 16 signed scales of a Q3_K super-block as bytes (-32..31), low nibbles from bytes 0-7, top bits from 8-11.
inline void unpack_scales_q3_k(const uint8_t* s, uint8_t out[16]) {
    const uint32_t a = load_u32(s), b = load_u32(s + 4), c = load_u32(s + 8);
    const uint32_t v[4] = {
        (a & 0x0f0f0f0fu) | ((c << 4) & 0x30303030u),
        (b & 0x0f0f0f0fu) | ((c << 2) & 0x30303030u),
        ((a >> 4) & 0x0f0f0f0fu) | (c & 0x30303030u),
        ((b >> 4) & 0x0f0f0f0fu) | ((c >> 2) & 0x30303030u),
    };
    std::memcpy(out, v, sizeof v);
    for (int i = 0; i < 16; ++i) out[i] = uint8_t(out[i] - 32);
}

template <class K, int NC>
void dot_group(const DotTile& t, int r, int c0) {
    const uint8_t* w_row = t.w + size_t(r) * t.w_stride;
    const int64_t n_blocks = t.n / quant::QK_K;
    typename K::Acc acc[NC];
    for (int c = 0; c < NC; ++c) acc[c] = K::zero();
    for (int64_t b = 0; b < n_blocks; ++b) {
        typename K::Block blk;
        K::decode(w_row + b * K::kBlockBytes, blk);
        for (int c = 0; c < NC; ++c) {
            const uint8_t* x = t.x + size_t(c0 + c) * t.x_stride + b * sizeof(quant::BlockQ8_K);
            acc[c] = K::dot(blk, x, acc[c]);
        }
    }
    for (int c = 0; c < NC; ++c) t.out[size_t(c0 + c) * t.out_stride + r] = K::reduce(acc[c]);
}

template <class K>
void dot_tile(const DotTile& t) {
    for (int r = 0; r < t.n_rows; ++r) {
        for (int c0 = 0; c0 < t.n_cols; c0 += kMaxColsPerGroup) {
            switch (std::min(kMaxColsPerGroup, t.n_cols - c0)) {
                case 1: dot_group<K, 1>(t, r, c0); break;
                case 2: dot_group<K, 2>(t, r, c0); break;
                case 3: dot_group<K, 3>(t, r, c0); break;
                case 4: dot_group<K, 4>(t, r, c0); break;
                case 5: dot_group<K, 5>(t, r, c0); break;
                case 6: dot_group<K, 6>(t, r, c0); break;
                case 7: dot_group<K, 7>(t, r, c0); break;
                default: dot_group<K, 8>(t, r, c0); break;
            }
        }
    }
}

}  // namespace
}  // namespace hotrod::cpu
