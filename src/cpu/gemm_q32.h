// Prefill (many-column) tile kernels of the 32-element formats. Same contract as a DotKernel (dot.h), built for
// tiles of tens of rows by hundreds of columns: the rows are decoded once per call into groups of 8 rows
// interleaved 4 bytes at a time, so one vpdpbusd against 4 broadcast activation bytes advances 8 rows at once
// and the block's integer dot arrives with rows in lanes: no per-column horizontal sums, and one scale multiply
// per block for 8 rows instead of one per row. The GEMV path (a few columns) keeps the per-row dot kernels.
#pragma once

#include "cpu/dot.h"
#include "quant/types.h"

namespace hotrod::cpu {

// The many-column kernel of a weight format at an ISA, or nullptr (then callers use the dot kernel). AVX-512
// with VNNI only, for Q4_0, Q4_1, Q5_0, Q5_1, Q8_0 (gemm_q32_avx512.cpp) and Q4_K, Q6_K (gemm_kquants_avx512.cpp:
// 16-row groups, exact integer super-block sums, equal to the dot kernels and quant::dot_ref_q*_k bit for bit).
DotKernel find_gemm_kernel(quant::DType weight, Isa isa);

namespace kernels {
void gemm_q4_0_avx512(const DotTile& t);
void gemm_q4_1_avx512(const DotTile& t);
void gemm_q5_0_avx512(const DotTile& t);
void gemm_q5_1_avx512(const DotTile& t);
void gemm_q8_0_avx512(const DotTile& t);
void gemm_q4_k_avx512(const DotTile& t);
void gemm_q6_k_avx512(const DotTile& t);
}  // namespace kernels

}  // namespace hotrod::cpu
