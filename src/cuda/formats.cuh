// The GGUF block formats as the CUDA kernels read them: one `Format<T>` specialisation per weight type, in
// formats_q32.cuh (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0) and formats_k.cuh (Q2_K..Q6_K). Each mirrors its scalar
// reference in src/quant/ (dot_ref_*, dequantize) term for term: integer sums are exact, so a block's float term
// is the reference's bit for bit and only the order in which blocks are added differs from the CPU.
//
// The contract every specialisation meets (kernels in matmul_*.cu and dequant.cu are written against it alone):
//
//   using Act = quant::BlockQ8_0 / BlockQ8_1 / BlockQ8_K;  // the activation block it pairs with (as the CPU)
//   static constexpr quant::DType kAct;                    // that activation type
//   static constexpr int kElems;                           // elements per weight block = per activation block
//   static constexpr int kBytes;                           // bytes per weight block
//   static constexpr int kParts;                           // a block splits into kParts pieces of kElems / kParts
//   static constexpr int kAlign;                           // the alignment dot_part needs of w_block (2 or 4)
//   struct Partial;                                        // the integer sums of some parts of one block
//   __device__ static Partial dot_part(const uint8_t* w_block, const Act* x_block, int part);
//   __device__ static Partial add(Partial a, Partial b);   // exact (integers): any order gives the same block sum
//   __device__ static float finish(const uint8_t* w_block, const Act* x_block, Partial p);  // the block's term
//   __device__ static void dequant_part(const uint8_t* w_block, int part, float* out);  // kElems / kParts floats
//
// w_block may point into global or shared memory and need not be aligned beyond kAlign bytes: 2 for most formats
// (blocks of 18, 22, 34, 84, 110, 210 bytes sit at any even offset: read bytewise or with 2-byte loads), 4 for
// Q4_K / Q5_K, whose 144- and 176-byte blocks keep every word aligned, so they read whole 4-byte words (Matmul
// checks the weight rows' alignment; the kernels' shared-memory tiles keep it).
#pragma once

#include <cuda_fp16.h>

#include <cstdint>

#include "quant/blocks.h"
#include "quant/types.h"

namespace hotrod::cuda {

template <quant::DType T>
struct Format;  // specialised per weight type in formats_q32.cuh / formats_k.cuh

// IEEE half bits (as stored in blocks) to float.
__device__ __forceinline__ float half_bits_to_float(uint16_t h) { return __half2float(__ushort_as_half(h)); }

// A 16-bit little-endian field at any even address.
__device__ __forceinline__ uint16_t load_u16(const uint8_t* p) { return *reinterpret_cast<const uint16_t*>(p); }

// 4 bytes at any 2-byte-aligned address, as one little-endian 32-bit word (for dp4a).
__device__ __forceinline__ int load_i32_a2(const uint8_t* p) {
    const uint16_t* h = reinterpret_cast<const uint16_t*>(p);
    return int(uint32_t(h[0]) | (uint32_t(h[1]) << 16));
}

}  // namespace hotrod::cuda
