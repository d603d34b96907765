// Tensor-core building blocks shared by the kernels that use them (matmul_mma_f16.cu, attention_prefill_mma.cu).
#pragma once

#include <cstdint>

namespace hotrod::cuda {

// d += a * b over one 16 x 8 x 16 tile, fp16 in, fp32 accumulate (mma.sync, sm_80+). Fragment layouts: PTX ISA,
// mma.m16n8k16 with .f16 (the users' file comments spell out the ones they rely on).
__device__ __forceinline__ void mma_f16(float (&d)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
        "{%0,%1,%2,%3};\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

}  // namespace hotrod::cuda
