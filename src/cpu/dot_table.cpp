// The dot-kernel table of the 32-element and float formats, and activation_type(). K formats are answered by
// find_dot_kernel_kquants() (dot_table_kquants.cpp, their owner's file). The Isa::Scalar entry of every type
// wraps its quant/ reference in a loop over the tile, so every type of dot_ref.h works at every ISA.
#include "cpu/cpu_features.h"
#include "cpu/dot.h"
#include "cpu/dot_kernels.h"
#include "cpu/dot_kquants.h"
#include "quant/dot_ref.h"

namespace hotrod::cpu {
namespace {

using quant::DType;
using RowDot = float (*)(int64_t, const void*, const void*);

template <RowDot dot_row>
void tile_scalar(const DotTile& t) {
    for (int c = 0; c < t.n_cols; ++c) {
        for (int r = 0; r < t.n_rows; ++r) {
            t.out[size_t(c) * t.out_stride + size_t(r)] =
                dot_row(t.n, t.w + size_t(r) * t.w_stride, t.x + size_t(c) * t.x_stride);
        }
    }
}

struct Entry {
    DType type;
    DotKernel kernels[kIsaCount];  // indexed by Isa; the avx512 ones need VNNI too (checked below)
};

constexpr Entry kTable[] = {
    {DType::Q4_0, {tile_scalar<quant::dot_ref_q4_0>, kernels::dot_q4_0_avx2, kernels::dot_q4_0_avx512}},
    {DType::Q4_1, {tile_scalar<quant::dot_ref_q4_1>, kernels::dot_q4_1_avx2, kernels::dot_q4_1_avx512}},
    {DType::Q5_0, {tile_scalar<quant::dot_ref_q5_0>, kernels::dot_q5_0_avx2, kernels::dot_q5_0_avx512}},
    {DType::Q5_1, {tile_scalar<quant::dot_ref_q5_1>, kernels::dot_q5_1_avx2, kernels::dot_q5_1_avx512}},
    {DType::Q8_0, {tile_scalar<quant::dot_ref_q8_0>, kernels::dot_q8_0_avx2, kernels::dot_q8_0_avx512}},
    {DType::F32, {tile_scalar<quant::dot_ref_f32>, kernels::dot_f32_avx2, kernels::dot_f32_avx512}},
    {DType::F16, {tile_scalar<quant::dot_ref_f16>, kernels::dot_f16_avx2, kernels::dot_f16_avx512}},
    {DType::BF16, {tile_scalar<quant::dot_ref_bf16>, kernels::dot_bf16_avx2, kernels::dot_bf16_avx512}},
};

bool is_k_format(DType t) {
    return t == DType::Q2_K || t == DType::Q3_K || t == DType::Q4_K || t == DType::Q5_K || t == DType::Q6_K;
}

}  // namespace

quant::DType activation_type(quant::DType weight) {
    if (is_k_format(weight)) return DType::Q8_K;
    if (weight == DType::F32 || weight == DType::F16 || weight == DType::BF16) return DType::F32;
    if (weight == DType::Q4_1 || weight == DType::Q5_1) return DType::Q8_1;
    return DType::Q8_0;
}

DotKernel find_dot_kernel(quant::DType weight, Isa isa) {
    const int i = int(isa);
    if (i < 0 || i >= kIsaCount) return nullptr;
    if (is_k_format(weight)) return find_dot_kernel_kquants(weight, isa);
    const bool is_float = activation_type(weight) == DType::F32;
    if (isa == Isa::Avx512 && !is_float && !cpu_features().avx512vnni) return nullptr;
    for (const Entry& e : kTable) {
        if (e.type == weight) return e.kernels[i];
    }
    return nullptr;
}

DotKernel best_dot_kernel(quant::DType weight, Isa isa) {
    for (int i = int(isa); i >= 0; --i) {
        if (DotKernel k = find_dot_kernel(weight, Isa(i))) return k;
    }
    return nullptr;
}

}  // namespace hotrod::cpu
