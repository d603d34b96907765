// The argument checks and view conversions CudaBackend's files share (cuda_backend.cpp: memory and the step's
// index arrays; cuda_backend_ops.cpp: the ops). Internal to src/cuda/.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "backend/recurrent_runs.h"
#include "cuda/attention.h"
#include "cuda/matmul.h"
#include "quant/types.h"

namespace hotrod::cuda::backend_detail {

using backend::TensorView;

[[noreturn]] inline void fail(const char* op, const std::string& what) {
    throw std::invalid_argument(std::string("CudaBackend::") + op + ": " + what);
}

inline std::string shape(const TensorView& v) {
    return std::string(quant::type_name(v.type)) + " [" + std::to_string(v.n_rows) + " x " + std::to_string(v.n_cols) +
           "]";
}

inline void check_f32(const char* op, const char* name, const TensorView& v, int64_t n_rows, int64_t n_cols) {
    if (v.type != quant::DType::F32 || v.n_rows != n_rows || v.n_cols != n_cols ||
        (n_rows > 1 && v.row_bytes < size_t(n_cols) * sizeof(float)) || v.row_bytes % sizeof(float) != 0 ||
        (n_rows > 0 && v.data == nullptr)) {
        fail(op, std::string(name) + " is " + shape(v) + ", expected F32 [" + std::to_string(n_rows) + " x " +
                     std::to_string(n_cols) + "]");
    }
}

inline int64_t stride_of(const TensorView& v) { return int64_t(v.row_bytes / sizeof(float)); }

inline DeviceRows rows_of(const TensorView& v) { return {v.f32(), v.n_rows, v.n_cols, stride_of(v)}; }

// Checks a recurrent layout with backend::split_sequence_runs (the CPU backend's check too) and appends its device
// form to buf: a RecurrentRun per sequence, then a RecurrentSnap per snapshot (recurrent.h). Throws
// invalid_argument naming op. runs, scratch: reused memory. (cuda_backend_recurrent.cpp)
void pack_recurrent(const char* op, const backend::RecurrentLayout& layout, int64_t n_tokens, int64_t n_slots,
                    std::vector<int32_t>& buf, std::vector<backend::SequenceRun>& runs, std::vector<int32_t>& scratch);

inline DeviceKvCache cache_of(const backend::KvLayerView& c) { return {c.type, c.k, c.v, c.n_kv_heads, c.head_dim}; }

}  // namespace hotrod::cuda::backend_detail
