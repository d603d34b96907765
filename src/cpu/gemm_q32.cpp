// The table of many-column kernels (gemm_q32.h): AVX-512 with VNNI only; everything else keeps the dot kernels.
#include "cpu/gemm_q32.h"

#include "cpu/cpu_features.h"

namespace hotrod::cpu {

DotKernel find_gemm_kernel(quant::DType weight, Isa isa) {
    if (isa != Isa::Avx512 || !cpu_features().avx512vnni) return nullptr;
    switch (weight) {
        case quant::DType::Q4_0: return kernels::gemm_q4_0_avx512;
        case quant::DType::Q4_1: return kernels::gemm_q4_1_avx512;
        case quant::DType::Q5_0: return kernels::gemm_q5_0_avx512;
        case quant::DType::Q5_1: return kernels::gemm_q5_1_avx512;
        case quant::DType::Q8_0: return kernels::gemm_q8_0_avx512;
        case quant::DType::Q4_K: return kernels::gemm_q4_k_avx512;
        case quant::DType::Q6_K: return kernels::gemm_q6_k_avx512;
        default: return nullptr;
    }
}

}  // namespace hotrod::cpu
