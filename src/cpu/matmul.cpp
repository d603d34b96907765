// The matmul drivers: activation quantization on the pool, the GEMV path (row chunks, all tokens at once) and
// the GEMM path (row blocks x token blocks). Tile sizes: a row block of a 9728-wide Q4_0 matrix (32 rows,
// ~175 KB) stays in L2 while its token columns stream through; 8 columns per kernel call is the DotTile maximum.
#include "cpu/matmul.h"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "cpu/gemm_q32.h"
#include "cpu/quantize_act.h"
#include "quant/blocks.h"

namespace hotrod::cpu {
namespace {

using quant::DType;

constexpr int64_t kGemmRowBlock = 32;
constexpr int64_t kGemmTokenBlock = 64;

size_t checked_row_bytes(DType type, int64_t n) {
    const auto bytes = quant::row_bytes(type, n);
    if (!bytes) {
        throw std::invalid_argument("matmul: " + std::string(quant::type_name(type)) + " row of " +
                                    std::to_string(n) + " elements is not a whole number of blocks");
    }
    return *bytes;
}

}  // namespace

WeightMatrix dense_weight(DType type, const void* data, int64_t n_out, int64_t n_in) {
    return {type, data, n_out, n_in, checked_row_bytes(type, n_in)};
}

void Workspace::reserve(int64_t max_tokens, int64_t max_n_in) {
    max_tokens_ = std::max(max_tokens_, max_tokens);
    max_n_in_ = std::max(max_n_in_, max_n_in);
    // Room for a ragged n_in rounded up to whole blocks; quantize_activations rejects ragged rows anyway.
    const int64_t n32 = (max_n_in_ + quant::QK - 1) / quant::QK * quant::QK;
    const int64_t n256 = (max_n_in_ + quant::QK_K - 1) / quant::QK_K * quant::QK_K;
    q8_0_.resize(size_t(max_tokens_) * *quant::row_bytes(DType::Q8_0, n32));
    q8_k_.resize(size_t(max_tokens_) * *quant::row_bytes(DType::Q8_K, n256));
    q8_1_.resize(size_t(max_tokens_) * *quant::row_bytes(DType::Q8_1, n32));
}

uint8_t* Workspace::buffer(DType act_type) {
    return act_type == DType::Q8_K ? q8_k_.data() : act_type == DType::Q8_1 ? q8_1_.data() : q8_0_.data();
}

Activations quantize_activations(ThreadPool& pool, Isa isa, DType act_type, const float* x, int64_t n_tokens,
                                 int64_t n_in, Workspace& ws) {
    if (act_type == DType::F32) {
        return {DType::F32, reinterpret_cast<const uint8_t*>(x), size_t(n_in) * sizeof(float), n_tokens, n_in};
    }
    if (act_type != DType::Q8_0 && act_type != DType::Q8_K && act_type != DType::Q8_1) {
        throw std::invalid_argument("quantize_activations: " + std::string(quant::type_name(act_type)) +
                                    " is not an activation format");
    }
    const size_t stride = checked_row_bytes(act_type, n_in);
    if (n_tokens > ws.max_tokens() || n_in > ws.max_n_in()) {
        throw std::invalid_argument("quantize_activations: workspace reserved for " + std::to_string(ws.max_tokens()) +
                                    " x " + std::to_string(ws.max_n_in()) + ", asked for " +
                                    std::to_string(n_tokens) + " x " + std::to_string(n_in));
    }
    const QuantizeRowFn quantize = act_type == DType::Q8_K   ? find_quantize_q8_k(isa)
                                    : act_type == DType::Q8_1 ? find_quantize_q8_1(isa)
                                                              : find_quantize_q8_0(isa);
    uint8_t* dst = ws.buffer(act_type);
    // One token is a few microseconds of work: cheaper than waking the pool.
    if (n_tokens * n_in < 32768) {
        for (int64_t t = 0; t < n_tokens; ++t) quantize(x + t * n_in, dst + size_t(t) * stride, n_in);
    } else {
        pool.run_tasks(n_tokens, [&](int64_t t, int) { quantize(x + t * n_in, dst + size_t(t) * stride, n_in); });
    }
    return {act_type, dst, stride, n_tokens, n_in};
}

namespace {

// The kernel for w, after checking xq fits it.
DotKernel checked_kernel(Isa isa, const WeightMatrix& w, const Activations& xq) {
    if (xq.type != activation_type(w.type) || xq.n_in != w.n_in) {
        throw std::invalid_argument("matmul: " + std::string(quant::type_name(w.type)) + " weights [" +
                                    std::to_string(w.n_out) + " x " + std::to_string(w.n_in) + "] need " +
                                    std::string(quant::type_name(activation_type(w.type))) + " activations of " +
                                    std::to_string(w.n_in) + ", got " + std::string(quant::type_name(xq.type)) +
                                    " of " + std::to_string(xq.n_in));
    }
    const DotKernel kernel = best_dot_kernel(w.type, isa);
    if (!kernel) throw std::invalid_argument("matmul: no dot kernel for " + std::string(quant::type_name(w.type)));
    return kernel;
}

// GEMV rows per task: ~8 tasks per thread over `n_rows`, so a preempted thread's share is picked up by the others.
int64_t gemv_chunk(const ThreadPool& pool, int64_t n_rows) {
    const int64_t n_chunks_wanted = int64_t(pool.n_threads()) * 8;
    return std::max<int64_t>(4, (n_rows + n_chunks_wanted - 1) / n_chunks_wanted);
}

// Rows r0 .. r0 + n_rows - 1 of w against every token of xq.
DotTile rows_tile(const WeightMatrix& w, const Activations& xq, float* y, int64_t r0, int64_t n_rows) {
    return {w.n_in, static_cast<const uint8_t*>(w.data) + size_t(r0) * w.row_stride, w.row_stride, int(n_rows),
            xq.data, xq.row_stride, int(xq.n_tokens), y + r0, size_t(w.n_out)};
}

}  // namespace

void matmul_quantized(ThreadPool& pool, Isa isa, const WeightMatrix& w, const Activations& xq, float* y) {
    const DotKernel kernel = checked_kernel(isa, w, xq);
    if (w.n_out == 0 || xq.n_tokens == 0) return;
    const auto* wdata = static_cast<const uint8_t*>(w.data);

    auto run_tile = [&](int64_t r0, int64_t n_rows, int64_t t0, int64_t n_tokens) {
        const DotTile tile{w.n_in,
                           wdata + size_t(r0) * w.row_stride,
                           w.row_stride,
                           int(n_rows),
                           xq.data + size_t(t0) * xq.row_stride,
                           xq.row_stride,
                           int(n_tokens),
                           y + size_t(t0) * size_t(w.n_out) + size_t(r0),
                           size_t(w.n_out)};
        kernel(tile);
    };

    if (xq.n_tokens <= kMaxGemvTokens) {
        // GEMV: chunks of rows, every token at once.
        const int64_t chunk = gemv_chunk(pool, w.n_out);
        pool.run_tasks((w.n_out + chunk - 1) / chunk, [&](int64_t c, int) {
            const int64_t r0 = c * chunk;
            kernel(rows_tile(w, xq, y, r0, std::min(chunk, w.n_out - r0)));
        });
        return;
    }

    // GEMM with a many-column kernel: one task per row block and all tokens (the kernel decodes its rows once);
    // blocks of 64 rows, smaller when that would leave fewer than 4 tasks per thread.
    if (const DotKernel gemm = find_gemm_kernel(w.type, isa)) {
        int64_t rows = 64;
        while (rows > 8 && (w.n_out + rows - 1) / rows < 4 * int64_t(pool.n_threads())) rows /= 2;
        pool.run_tasks((w.n_out + rows - 1) / rows, [&](int64_t task, int) {
            const int64_t r0 = task * rows;
            gemm(rows_tile(w, xq, y, r0, std::min(rows, w.n_out - r0)));
        });
        return;
    }

    // GEMM: tasks are (row block, token block) pairs, row-block-major so neighbouring tasks share weights.
    const int64_t n_row_blocks = (w.n_out + kGemmRowBlock - 1) / kGemmRowBlock;
    const int64_t n_token_blocks = (xq.n_tokens + kGemmTokenBlock - 1) / kGemmTokenBlock;
    pool.run_tasks(n_row_blocks * n_token_blocks, [&](int64_t task, int) {
        const int64_t r0 = task / n_token_blocks * kGemmRowBlock;
        const int64_t n_rows = std::min(kGemmRowBlock, w.n_out - r0);
        const int64_t t_begin = task % n_token_blocks * kGemmTokenBlock;
        const int64_t t_end = std::min(xq.n_tokens, t_begin + kGemmTokenBlock);
        for (int64_t t0 = t_begin; t0 < t_end; t0 += kMaxGemvTokens) {
            run_tile(r0, n_rows, t0, std::min(kMaxGemvTokens, t_end - t0));
        }
    });
}

void matmul_quantized_many(ThreadPool& pool, Isa isa, std::span<const WeightMatrix> ws,
                           std::span<const Activations> xqs, std::span<float* const> ys) {
    if (ws.size() != xqs.size() || ws.size() != ys.size()) throw std::invalid_argument("matmul: list lengths differ");
    bool gemv = ws.size() <= kMaxSharedProducts;
    for (const Activations& xq : xqs) gemv = gemv && xq.n_tokens <= kMaxGemvTokens;
    if (!gemv) {  // GEMM: each product is long enough to amortize its own dispatch
        for (size_t i = 0; i < ws.size(); ++i) matmul_quantized(pool, isa, ws[i], xqs[i], ys[i]);
        return;
    }
    DotKernel kernels[kMaxSharedProducts];
    int64_t chunk[kMaxSharedProducts], first_task[kMaxSharedProducts + 1] = {0};
    int64_t total_rows = 0;
    for (const WeightMatrix& w : ws) total_rows += w.n_out;
    for (size_t i = 0; i < ws.size(); ++i) {
        kernels[i] = checked_kernel(isa, ws[i], xqs[i]);
        // Chunks sized over all the rows together, so a small product (k, v) is not cut finer than a big one.
        chunk[i] = std::min(gemv_chunk(pool, total_rows), std::max<int64_t>(ws[i].n_out, 1));
        const int64_t n = xqs[i].n_tokens == 0 ? 0 : (ws[i].n_out + chunk[i] - 1) / chunk[i];
        first_task[i + 1] = first_task[i] + n;
    }
    pool.run_tasks(first_task[ws.size()], [&](int64_t task, int) {
        size_t i = 0;
        while (task >= first_task[i + 1]) ++i;
        const int64_t r0 = (task - first_task[i]) * chunk[i];
        kernels[i](rows_tile(ws[i], xqs[i], ys[i], r0, std::min(chunk[i], ws[i].n_out - r0)));
    });
}

void matmul(ThreadPool& pool, Isa isa, const WeightMatrix& w, const float* x, int64_t n_tokens, float* y,
            Workspace& ws) {
    const Activations xq = quantize_activations(pool, isa, activation_type(w.type), x, n_tokens, w.n_in, ws);
    matmul_quantized(pool, isa, w, xq, y);
}

}  // namespace hotrod::cpu
