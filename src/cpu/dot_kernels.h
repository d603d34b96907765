// Declarations of the 32-element and float-format tile kernels, one per (format, ISA), for dot_table.cpp.
// The "avx512" kernels use AVX-512 F/BW/VL and VNNI (vpdpbusd); dot_table.cpp only hands them out when the CPU
// has VNNI. K-format kernels are declared by their owner in dot_kquants.h.
#pragma once

#include "cpu/dot.h"

namespace hotrod::cpu::kernels {

void dot_q4_0_avx2(const DotTile& t);
void dot_q4_1_avx2(const DotTile& t);
void dot_q5_0_avx2(const DotTile& t);
void dot_q5_1_avx2(const DotTile& t);
void dot_q8_0_avx2(const DotTile& t);
void dot_f32_avx2(const DotTile& t);
void dot_f16_avx2(const DotTile& t);
void dot_bf16_avx2(const DotTile& t);

void dot_q4_0_avx512(const DotTile& t);
void dot_q4_1_avx512(const DotTile& t);
void dot_q5_0_avx512(const DotTile& t);
void dot_q5_1_avx512(const DotTile& t);
void dot_q8_0_avx512(const DotTile& t);
void dot_f32_avx512(const DotTile& t);
void dot_f16_avx512(const DotTile& t);
void dot_bf16_avx512(const DotTile& t);

}  // namespace hotrod::cpu::kernels
