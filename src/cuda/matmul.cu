// Matmul::run: checks the shapes, quantizes x into the activation format the weight type pairs with (or reuses
// the scratch when the caller says x is unchanged and it already holds that format), then takes the decode path
// (the caller's decode rows) and the prefill path (the others); the prefill path of most block formats converts x to fp16 instead
// (matmul_mma_f16.cu). Float weights skip quantization and read x as is.
#include "cuda/matmul.h"

#include <cuda_runtime_api.h>

#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "cuda/check.h"
#include "cuda/matmul_dispatch.cuh"
#include "cuda/matmul_kernels.h"
#include "cuda/quantize_act.h"
#include "cuda/switches.h"
#include "quant/blocks.h"

namespace hotrod::cuda {
namespace {

using quant::DType;


size_t act_block_bytes(DType act) {
    switch (act) {
        case DType::Q8_0: return sizeof(quant::BlockQ8_0);
        case DType::Q8_1: return sizeof(quant::BlockQ8_1);
        case DType::Q8_K: return sizeof(quant::BlockQ8_K);
        default: return 0;
    }
}

int64_t act_block_elems(DType act) { return act == DType::Q8_K ? quant::QK_K : quant::QK; }


std::string shape(const DeviceWeight& w) {
    return std::string(quant::type_name(w.type)) + " " + std::to_string(w.n_out) + "x" + std::to_string(w.n_in) +
           " (row_bytes " + std::to_string(w.row_bytes) + ")";
}

std::string shape(const char* name, const DeviceRows& r) {
    return std::string(name) + " " + std::to_string(r.n_rows) + "x" + std::to_string(r.n_cols) + " (stride " +
           std::to_string(r.stride) + ")";
}

[[noreturn]] void fail(const DeviceWeight& w, const DeviceRows& x, const DeviceRows& y, const std::string& why) {
    throw std::invalid_argument("cuda matmul: " + why + ": w " + shape(w) + ", " + shape("x", x) + ", " +
                                shape("y", y));
}

void check_args(const DeviceWeight& w, const DeviceRows& x, const DeviceRows& y) {
    if (!matmul_supports(w.type)) fail(w, x, y, "unsupported weight type");
    if (x.n_cols != w.n_in) fail(w, x, y, "x columns differ from the weight's n_in");
    if (y.n_cols != w.n_out) fail(w, x, y, "y columns differ from the weight's n_out");
    if (y.n_rows != x.n_rows) fail(w, x, y, "x and y row counts differ");
    if (x.n_rows < 0 || w.n_out < 0 || w.n_in < 0) fail(w, x, y, "negative size");
    if (x.stride < x.n_cols || y.stride < y.n_cols) fail(w, x, y, "row stride shorter than a row");
    const auto need = quant::row_bytes(w.type, w.n_in);
    if (!need) fail(w, x, y, "n_in is not a whole number of blocks");
    if (w.row_bytes < *need) fail(w, x, y, "row_bytes shorter than a row");
    // F32 weights are read as floats; the block formats in units of Format::kAlign (formats.cuh); F16 / BF16 by 2.
    size_t align = w.type == DType::F32 ? 4 : 2;
    visit_block_type(w.type, [&](auto t) { align = size_t(Format<decltype(t)::value>::kAlign); });
    if (reinterpret_cast<uintptr_t>(w.data) % align != 0 || w.row_bytes % align != 0)
        fail(w, x, y, "weight rows not " + std::to_string(align) + "-byte aligned");
    if (w.n_out > 0 && x.n_rows > 0 && (w.data == nullptr || x.data == nullptr || y.data == nullptr))
        fail(w, x, y, "null data");
}

}  // namespace

// The activation format paired with a block weight type, or F32 for the float formats.
DType Matmul::act_type(DType type) {
    DType act = DType::F32;
    visit_block_type(type, [&](auto t) { act = Format<decltype(t)::value>::kAct; });
    return act;
}

// Scratch bytes of one quantized row of n_cols (rounded up to whole blocks): a multiple of 16 bytes, so rows stay
// aligned, and with room for the prefill tiles' whole-word reads past a row's last block (matmul_kernels.h).
size_t Matmul::act_row_bytes(DType act, int64_t n_cols) {
    if (act == DType::F16) return (size_t(std::max<int64_t>(n_cols, 0)) * 2 + 15) / 16 * 16;
    const int64_t blocks = (n_cols + act_block_elems(act) - 1) / act_block_elems(act);
    return (size_t(blocks) * act_block_bytes(act) + 15) / 16 * 16;
}

bool matmul_supports(quant::DType type) {
    return visit_block_type(type, [](auto) {}) || visit_float_type(type, [](auto) {});
}

Matmul::~Matmul() {
    if (scratch_ != nullptr) cudaFree(scratch_);  // no throwing from a destructor; a failure here is moot
}

void Matmul::reserve(int64_t max_rows, int64_t max_cols) {
    size_t row = 0;
    for (DType act : {DType::Q8_0, DType::Q8_1, DType::Q8_K, DType::F16}) row = std::max(row, act_row_bytes(act, max_cols));
    const size_t need = size_t(std::max<int64_t>(max_rows, 0)) * row;
    if (need <= scratch_bytes_) return;
    if (scratch_ != nullptr) {
        // cudaFree waits for the device, so no kernel still reads the old scratch.
        HOTROD_CUDA_CHECK(cudaFree(scratch_));
        scratch_ = nullptr;
        scratch_bytes_ = 0;
    }
    scratch_type_ = DType::F32;  // whatever it held is gone
    HOTROD_CUDA_CHECK(cudaMalloc(&scratch_, need));
    scratch_bytes_ = need;
}

size_t Matmul::quantize(DType act, const DeviceRows& x, bool x_unchanged, cudaStream_t stream, DType like) {
    const size_t row_bytes = act_row_bytes(act, x.n_cols);
    if (x_unchanged && scratch_type_ == act && (act != DType::F16 || scratch_like_ == like)) return row_bytes;
    if (size_t(x.n_rows) * row_bytes > scratch_bytes_) reserve(x.n_rows, x.n_cols);
    scratch_type_ = DType::F32;  // invalid until the quantize below is issued
    switch (act) {
        case DType::Q8_0: quantize_rows_q8_0(x.data, x.stride, x.n_rows, x.n_cols, scratch_, row_bytes, stream); break;
        case DType::Q8_1: quantize_rows_q8_1(x.data, x.stride, x.n_rows, x.n_cols, scratch_, row_bytes, stream); break;
        case DType::Q8_K: quantize_rows_q8_k(x.data, x.stride, x.n_rows, x.n_cols, scratch_, row_bytes, stream); break;
        case DType::F16:
            if (like == DType::F32) convert_rows_f16(x.data, x.stride, x.n_rows, x.n_cols, scratch_, row_bytes, stream);
            else round_rows_f16(x.data, x.stride, x.n_rows, x.n_cols, like, scratch_, row_bytes, stream);
            break;
        default: throw std::invalid_argument("cuda matmul: no activation quantizer for " + std::string(quant::type_name(act)));
    }
    scratch_type_ = act;
    scratch_like_ = like;
    return row_bytes;
}

int64_t decode_max_rows() {
    static const int64_t rows = switch_int("HOTROD_CUDA_DECODE_MAX_ROWS", 1, kMaxDecodeRows, kMaxDecodeRows);
    return rows;
}

int64_t decode_rows_by_count(int64_t n_rows, int64_t decode_rows) {
    if (decode_rows < 0) return n_rows <= decode_max_rows() ? n_rows : 0;
    return std::min(decode_rows, n_rows);
}

namespace {

DeviceRows row_slice(const DeviceRows& r, int64_t first, int64_t n) {
    DeviceRows s = r;
    s.data = r.data + first * r.stride;
    s.n_rows = n;
    return s;
}

}  // namespace

void Matmul::run_shared(const SharedOuts& outs, const DeviceRows& x, bool x_unchanged, cudaStream_t stream,
                        int64_t decode_rows) {
    if (outs.n < 0 || outs.n > kMaxSharedOuts) throw std::invalid_argument("cuda matmul: bad product count");
    for (int i = 0; i < outs.n; ++i) check_args(outs.w[i], x, outs.y[i]);
    const int64_t d = decode_rows_by_count(x.n_rows, decode_rows);
    const bool decode = x.n_rows >= 1 && d == x.n_rows && x.n_rows <= kMaxDecodeRows;
    for (int i = 0; i < outs.n;) {
        const DeviceWeight& w = outs.w[i];
        const DType act = act_type(w.type);
        int end = i + 1;  // [i, end): consecutive products of one weight type and width, launched together
        // (the tensor-core decode kernel's: of one shape too, e.g. gate and up).
        const bool mma = decode && detail::matmul_decode_mma_wanted(w, x.n_rows);
        while (decode && act != DType::F32 && end < outs.n && outs.w[end].type == w.type &&
               outs.w[end].n_in == w.n_in &&
               (!mma || (outs.w[end].n_out == w.n_out && outs.w[end].row_bytes == w.row_bytes &&
                         detail::matmul_decode_mma_wanted(outs.w[end], x.n_rows))))
            ++end;
        if (end - i == 1 || w.n_out == 0) {
            run(w, x, outs.y[i], x_unchanged || i > 0, stream, d);
        } else if (mma) {
            const size_t row_bytes = quantize(act, x, x_unchanged || i > 0, stream);
            if (!detail::matmul_decode_mma({outs.w + i, size_t(end - i)}, {outs.y + i, size_t(end - i)}, scratch_,
                                           row_bytes, x.n_rows, stream))
                for (int k = i; k < end; ++k) run(outs.w[k], x, outs.y[k], true, stream, d);
        } else {
            const size_t row_bytes = quantize(act, x, x_unchanged || i > 0, stream);
            detail::matmul_decode_quant({outs.w + i, size_t(end - i)}, {outs.y + i, size_t(end - i)}, scratch_,
                                        row_bytes, x.n_rows, stream);
        }
        i = end;
    }
}

void Matmul::run(const DeviceWeight& w, const DeviceRows& x, const DeviceRows& y, bool x_unchanged,
                 cudaStream_t stream, int64_t decode_rows) {
    check_args(w, x, y);
    if (x.n_rows == 0 || w.n_out == 0) return;

    const int64_t n = x.n_rows, d = decode_rows_by_count(n, decode_rows);
    const DType act = act_type(w.type);
    if (y.accumulate && (act == DType::F32 || d != n))
        throw std::invalid_argument("cuda matmul: y += W x is for decode rows of a block format only");
    if (act == DType::F32) {
        for (int64_t r = 0; r < d; r += kMaxDecodeRows) {
            const int64_t k = std::min(kMaxDecodeRows, d - r);
            detail::matmul_decode_float(w, row_slice(x, r, k), row_slice(y, r, k), stream);
        }
        if (d < n) detail::matmul_prefill_float(w, row_slice(x, d, n - d), row_slice(y, d, n - d), stream);
        return;
    }

    // The decode rows, on x quantized whole (a later run with x_unchanged may reuse it, row for row).
    if (d > 0) {
        const size_t row_bytes = quantize(act, x, x_unchanged, stream);
        for (int64_t r = 0; r < d; r += kMaxDecodeRows) {
            const DeviceRows yr = row_slice(y, r, std::min(kMaxDecodeRows, d - r));
            const void* xr = static_cast<const uint8_t*>(scratch_) + r * row_bytes;
            const bool mma = detail::matmul_decode_mma_wanted(w, yr.n_rows);
            if (!(mma && detail::matmul_decode_mma(w, xr, row_bytes, yr.n_rows, yr, stream)))
                detail::matmul_decode_quant({&w, 1}, {&yr, 1}, xr, row_bytes, yr.n_rows, stream);
        }
        if (d == n) return;
    }
    // The prompt rows [d, n). x is converted whole here too, so the scratch always holds all of x in one format
    // (a mixed step converts its few decode rows needlessly). Stream order keeps the decode launches above
    // reading the scratch before this overwrites it.
    const bool same = x_unchanged && d == 0;
    const DeviceRows yp = row_slice(y, d, n - d);
    if (detail::matmul_prefill_f16_takes(w)) {
        // x on the 8-bit grid of the weight's activation format first, as the decode kernels and the CPU see it:
        // SmolLM2's perplexity was 0.23% below the CPU's with plain fp16 x, 0.05% with the int8 MMA's exact Q8 x
        // (H100, 2026-12-07). HOTROD_CUDA_F16_ROUND=0 converts x to fp16 directly.
        static const bool round = !switch_off("HOTROD_CUDA_F16_ROUND");
        const size_t f16_row_bytes = quantize(DType::F16, x, same, stream, round ? act : DType::F32);
        if (detail::matmul_prefill_f16(w, static_cast<const uint8_t*>(scratch_) + d * f16_row_bytes, f16_row_bytes,
                                       n - d, yp, stream))
            return;
    }
    const size_t row_bytes = quantize(act, x, same || d > 0, stream);
    const void* xq = static_cast<const uint8_t*>(scratch_) + d * row_bytes;
    if (!detail::matmul_prefill_mma(w, xq, row_bytes, n - d, yp, stream))
        detail::matmul_prefill_quant(w, xq, row_bytes, n - d, yp, stream);
}

}  // namespace hotrod::cuda
