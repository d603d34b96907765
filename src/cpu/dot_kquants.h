// Dot kernels of the K formats (Q2_K..Q6_K against Q8_K activations), looked up by dot_table.cpp.
#pragma once

#include "cpu/dot.h"

namespace hotrod::cpu {

// nullptr when the K-format kernel for that ISA does not exist (or `weight` is not a K format).
DotKernel find_dot_kernel_kquants(quant::DType weight, Isa isa);

}  // namespace hotrod::cpu
