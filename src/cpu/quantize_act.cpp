// Picks the activation quantizer per ISA. Q8_0 has SIMD versions here (quantize_act_avx2/avx512.cpp);
// Q8_K uses the quant/ reference until its owner's SIMD versions land (one line each in find_quantize_q8_k).
#include "cpu/quantize_act.h"
#include "cpu/dot_kquants_kernels.h"

#include "quant/quantize.h"

namespace hotrod::cpu {

QuantizeRowFn find_quantize_q8_0(Isa isa) {
    switch (isa) {
        case Isa::Avx512: return kernels::quantize_row_q8_0_avx512;
        case Isa::Avx2: return kernels::quantize_row_q8_0_avx2;
        case Isa::Scalar: break;
    }
    return quant::quantize_row_q8_0_act_ref;
}

QuantizeRowFn find_quantize_q8_1(Isa) { return quant::quantize_row_q8_1_ref; }

QuantizeRowFn find_quantize_q8_k(Isa isa) {
    return isa == Isa::Avx512 ? quantize_row_q8_k_avx512 : isa == Isa::Avx2 ? quantize_row_q8_k_avx2 : quant::quantize_row_q8_k_ref;
}

}  // namespace hotrod::cpu
