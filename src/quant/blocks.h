// Byte layouts of the GGUF block formats, exactly as stored in model files (facts of the format; the
// PyPI gguf package's quants.py decodes the same bytes and is our test reference). Each struct's size is
// pinned by a static_assert so a layout slip fails the build, not a model.
#pragma once

#include <cstdint>

namespace hotrod::quant {

constexpr int QK = 32;    // elements per block of the 32-element formats
constexpr int QK_K = 256; // elements per super-block of the K formats
constexpr int K_SCALE_SIZE = 12;

using half_t = uint16_t;  // IEEE binary16 bits; see half.h

// x = d * (q - 8); q: 4 bits, element j in the low nibble of qs[j], element j+16 in its high nibble.
struct BlockQ4_0 { half_t d; uint8_t qs[QK / 2]; };
// x = d * q + m
struct BlockQ4_1 { half_t d; half_t m; uint8_t qs[QK / 2]; };
// x = d * (q - 16); q = nibble | (bit j of qh) << 4 (qh little-endian 32 bits, bit j for element j).
struct BlockQ5_0 { half_t d; uint8_t qh[4]; uint8_t qs[QK / 2]; };
// x = d * q + m, q as Q5_0.
struct BlockQ5_1 { half_t d; half_t m; uint8_t qh[4]; uint8_t qs[QK / 2]; };
// x = d * q
struct BlockQ8_0 { half_t d; int8_t qs[QK]; };

// 16 sub-blocks of 16: scales[i] low nibble = scale, high nibble = min; x = d*sc*q - dmin*m, q: 2 bits.
struct BlockQ2_K { uint8_t scales[QK_K / 16]; uint8_t qs[QK_K / 4]; half_t d; half_t dmin; };
// 16 sub-blocks of 16 with 6-bit signed scales packed in 12 bytes; q: 2 low bits + 1 high bit (hmask).
struct BlockQ3_K { uint8_t hmask[QK_K / 8]; uint8_t qs[QK_K / 4]; uint8_t scales[12]; half_t d; };
// 8 sub-blocks of 32 with 6-bit scales and mins packed in 12 bytes; x = d*sc*q - dmin*m, q: 4 bits.
struct BlockQ4_K { half_t d; half_t dmin; uint8_t scales[K_SCALE_SIZE]; uint8_t qs[QK_K / 2]; };
// As Q4_K with a fifth bit per element in qh.
struct BlockQ5_K { half_t d; half_t dmin; uint8_t scales[K_SCALE_SIZE]; uint8_t qh[QK_K / 8]; uint8_t qs[QK_K / 2]; };
// 16 sub-blocks of 16 with int8 scales; q: 4 low bits (ql) + 2 high bits (qh), x = d*sc*(q - 32).
struct BlockQ6_K { uint8_t ql[QK_K / 2]; uint8_t qh[QK_K / 4]; int8_t scales[QK_K / 16]; half_t d; };
// Activations for Q4_1 / Q5_1 (the formats with a min): Q8_0's codes plus s = d * sum(q), the block sum the
// min multiplies. d and s hold fp16-rounded values (kept as float, the 40-byte layout GGUF lists for Q8_1):
// llama.cpp rounds s to fp16, and SmolLM2's massive activations turn that 2^-11 step of m * s into a 1e-3
// drift of the residual stream per layer, so matching its rounding is what keeps our logits within 0.999.
struct BlockQ8_1 { float d; float s; int8_t qs[QK]; };
// Activations for the K formats: float scale, int8 values, and sums of each group of 16 values.
struct BlockQ8_K { float d; int8_t qs[QK_K]; int16_t bsums[QK_K / 16]; };

static_assert(sizeof(BlockQ4_0) == 18);
static_assert(sizeof(BlockQ4_1) == 20);
static_assert(sizeof(BlockQ5_0) == 22);
static_assert(sizeof(BlockQ5_1) == 24);
static_assert(sizeof(BlockQ8_0) == 34);
static_assert(sizeof(BlockQ8_1) == 40);
static_assert(sizeof(BlockQ2_K) == 84);
static_assert(sizeof(BlockQ3_K) == 110);
static_assert(sizeof(BlockQ4_K) == 144);
static_assert(sizeof(BlockQ5_K) == 176);
static_assert(sizeof(BlockQ6_K) == 210);
static_assert(sizeof(BlockQ8_K) == 292);

}  // namespace hotrod::quant
