// The K-format entries of the dot-kernel table, and the scalar tile kernels (a loop over the quant/ references).
// dot_table.cpp asks here for Q2_K..Q6_K; a nullptr answer makes the caller fall back to a lower ISA.
#include "cpu/dot_kquants.h"
#include "cpu/dot_kquants_kernels.h"
#include "quant/dot_ref.h"

namespace hotrod::cpu {

namespace {

using RowDot = float (*)(int64_t, const void*, const void*);

template <RowDot dot_row>
void dot_tile_scalar(const DotTile& t) {
    for (int c = 0; c < t.n_cols; ++c) {
        for (int r = 0; r < t.n_rows; ++r) {
            t.out[size_t(c) * t.out_stride + r] =
                dot_row(t.n, t.w + size_t(r) * t.w_stride, t.x + size_t(c) * t.x_stride);
        }
    }
}

struct Entry {
    quant::DType type;
    DotKernel kernels[kIsaCount];  // indexed by Isa
};

constexpr Entry kTable[] = {
    {quant::DType::Q2_K, {dot_q2_k_scalar, dot_q2_k_avx2, dot_q2_k_avx512}},
    {quant::DType::Q3_K, {dot_q3_k_scalar, dot_q3_k_avx2, dot_q3_k_avx512}},
    {quant::DType::Q4_K, {dot_q4_k_scalar, dot_q4_k_avx2, dot_q4_k_avx512}},
    {quant::DType::Q5_K, {dot_q5_k_scalar, dot_q5_k_avx2, dot_q5_k_avx512}},
    {quant::DType::Q6_K, {dot_q6_k_scalar, dot_q6_k_avx2, dot_q6_k_avx512}},
};

}  // namespace

void dot_q2_k_scalar(const DotTile& t) { dot_tile_scalar<quant::dot_ref_q2_k>(t); }
void dot_q3_k_scalar(const DotTile& t) { dot_tile_scalar<quant::dot_ref_q3_k>(t); }
void dot_q4_k_scalar(const DotTile& t) { dot_tile_scalar<quant::dot_ref_q4_k>(t); }
void dot_q5_k_scalar(const DotTile& t) { dot_tile_scalar<quant::dot_ref_q5_k>(t); }
void dot_q6_k_scalar(const DotTile& t) { dot_tile_scalar<quant::dot_ref_q6_k>(t); }

DotKernel find_dot_kernel_kquants(quant::DType weight, Isa isa) {
    const int i = int(isa);
    if (i < 0 || i >= kIsaCount) return nullptr;
    for (const Entry& e : kTable) {
        if (e.type == weight) return e.kernels[i];
    }
    return nullptr;
}

}  // namespace hotrod::cpu
