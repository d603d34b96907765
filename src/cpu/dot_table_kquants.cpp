// The K-format entries of the dot-kernel table (filled in as the kernels land).
#include "cpu/dot_kquants.h"

namespace hotrod::cpu {

DotKernel find_dot_kernel_kquants(quant::DType, Isa) { return nullptr; }

}  // namespace hotrod::cpu
