// CpuBackend's argument checks and row access, shared by its op files (cpu_backend.cpp, cpu_backend_recurrent.cpp):
// every bad shape is an std::invalid_argument naming the op, the argument, what it is and what was expected.
#pragma once

#include <stdexcept>
#include <string>

#include "backend/backend.h"

namespace hotrod::cpu::checks {

[[noreturn]] inline void fail(const char* op, const std::string& what) {
    throw std::invalid_argument(std::string("CpuBackend::") + op + ": " + what);
}

inline std::string shape(const backend::TensorView& v) {
    return std::string(quant::type_name(v.type)) + " [" + std::to_string(v.n_rows) + " x " +
           std::to_string(v.n_cols) + "]";
}

// An F32 view of n_rows x n_cols whose rows hold at least n_cols floats, a whole number of floats apart.
inline void check_f32(const char* op, const char* name, const backend::TensorView& v, int64_t n_rows, int64_t n_cols) {
    if (v.type != quant::DType::F32 || v.n_rows != n_rows || v.n_cols != n_cols ||
        (n_rows > 1 && v.row_bytes < size_t(n_cols) * sizeof(float)) || (n_rows > 0 && v.data == nullptr) ||
        v.row_bytes % sizeof(float) != 0) {
        fail(op, std::string(name) + " is " + shape(v) + ", expected F32 [" + std::to_string(n_rows) + " x " +
                     std::to_string(n_cols) + "]");
    }
}

inline float* row_f32(const backend::TensorView& v, int64_t r) {
    return reinterpret_cast<float*>(static_cast<char*>(v.data) + size_t(r) * v.row_bytes);
}

}  // namespace hotrod::cpu::checks
