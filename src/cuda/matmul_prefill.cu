// The prefill matmul: more than kMaxDecodeRows token rows, where the work is the integer products, so weights and
// activations are staged in shared memory and reused. A thread block computes a tile of kRows weight rows x kToks
// tokens; per step it copies kTileBlocks blocks of each weight row and each token's activation row into shared
// memory, and each of its 256 threads accumulates kTM x kTN outputs: rows rl + 16 i, tokens tg + 16 j (rl = tid %
// 16, tg = tid / 16, so a warp reads 16 weight rows and broadcasts 2 tokens, and its stores cover 16 consecutive
// outputs). Per block a thread sums all kParts Partials of every (row, token) itself (Format::add, exact) and adds
// Format::finish's term in float, so each block term is the reference's and only the float order differs.
// Float weights take a plain shared-memory SGEMM tile.
#include <cuda_runtime_api.h>

#include <algorithm>
#include <cstdint>
#include <stdexcept>

#include "cuda/check.h"
#include "cuda/launch.cuh"
#include "cuda/matmul_dispatch.cuh"
#include "cuda/matmul_kernels.h"

namespace hotrod::cuda::detail {
namespace {

constexpr int kThreads = 256;     // 16 row lanes x 16 token groups
constexpr int kMaxStaticShared = 48 * 1024;

// A shared-memory row stride of at least `bytes`, a whole odd number of 4-byte words: 16 rows read at one
// column offset then fall in 16 different banks.
constexpr int odd_word_stride(int bytes) { return (((bytes + 3) / 4) | 1) * 4; }

template <class F>
constexpr int tile_shared_bytes(int tile_blocks, int rows, int toks) {
    return rows * odd_word_stride(tile_blocks * F::kBytes) +
           toks * odd_word_stride(tile_blocks * int(sizeof(typename F::Act)));
}

// Blocks per staged step: up to 256 elements, halved until both tiles fit the static shared-memory limit.
template <class F>
constexpr int pick_tile_blocks(int rows, int toks) {
    int n = 256 / F::kElems > 0 ? 256 / F::kElems : 1;
    while (n > 1 && tile_shared_bytes<F>(n, rows, toks) > kMaxStaticShared) n /= 2;
    return n;
}

// Outputs a thread: 4 weight rows x 6 tokens (64 x 96 a block). Measured on H100 at 2560 x 9728, 512 tokens, against
// 8 x 4: Q4_K 17 -> 28 int8 TOPS, Q6_K 25 -> 31, Q4_0 34 -> 40. The weight side (unpacking codes and scales) is the
// heavier half of a dot_part, so more tokens share each unpacked row; 6 is what Q8_K tiles leave room for.
template <quant::DType T>
struct PrefillTile {
    using F = Format<T>;
    using Act = typename F::Act;
    static constexpr int kTM = 4;
    static constexpr int kTN = 6;
    static constexpr int kRows = 16 * kTM;
    static constexpr int kToks = 16 * kTN;
    static constexpr int kTileBlocks = pick_tile_blocks<F>(kRows, kToks);
    static constexpr int kWStride = odd_word_stride(kTileBlocks * F::kBytes);
    static constexpr int kXStride = odd_word_stride(kTileBlocks * int(sizeof(Act)));
    static_assert(tile_shared_bytes<F>(kTileBlocks, kRows, kToks) <= kMaxStaticShared, "tiles exceed shared memory");
    static_assert(F::kBytes % 2 == 0, "weight tiles are copied in 2-byte units");
    static_assert((kTileBlocks * sizeof(Act)) % 4 == 0, "activation tiles are copied in 4-byte units");
};

template <quant::DType T>
__global__ void __launch_bounds__(kThreads)
    prefill_quant_kernel(const uint8_t* __restrict__ w, size_t w_row_bytes, int64_t n_out, int64_t n_blocks,
                         const uint8_t* __restrict__ x, size_t x_row_bytes, int64_t n_tok, float* __restrict__ y,
                         int64_t y_stride) {
    grid_dependency_sync();
    using Tile = PrefillTile<T>;
    using F = typename Tile::F;
    using Act = typename Tile::Act;
    using Partial = typename F::Partial;
    constexpr int kTM = Tile::kTM, kTN = Tile::kTN;

    __shared__ __align__(16) uint8_t s_w[Tile::kRows * Tile::kWStride];
    __shared__ __align__(16) uint8_t s_x[Tile::kToks * Tile::kXStride];

    const int tid = threadIdx.x;
    const int rl = tid % 16, tg = tid / 16;
    const int64_t row0 = int64_t(blockIdx.x) * Tile::kRows;
    const int64_t tok0 = int64_t(blockIdx.y) * Tile::kToks;

    float acc[kTM][kTN];
#pragma unroll
    for (int i = 0; i < kTM; ++i)
#pragma unroll
        for (int j = 0; j < kTN; ++j) acc[i][j] = 0.0f;

    for (int64_t kb0 = 0; kb0 < n_blocks; kb0 += Tile::kTileBlocks) {
        const int n_blk = int(min(int64_t(Tile::kTileBlocks), n_blocks - kb0));

        // Stage: rows and tokens past the matrix repeat the last one (valid reads; their outputs are not stored).
        const int w_units = n_blk * F::kBytes / 2;
        for (int idx = tid; idx < Tile::kRows * w_units; idx += kThreads) {
            const int i = idx / w_units, u = idx % w_units;
            const int64_t row = min(row0 + i, n_out - 1);
            const auto* src = reinterpret_cast<const uint16_t*>(w + row * w_row_bytes + kb0 * F::kBytes);
            reinterpret_cast<uint16_t*>(s_w + i * Tile::kWStride)[u] = src[u];
        }
        // Whole words: a Q8_0 tile of an odd block count ends 2 bytes into the row's slack (matmul_kernels.h).
        const int x_units = int((n_blk * sizeof(Act) + 3) / 4);
        for (int idx = tid; idx < Tile::kToks * x_units; idx += kThreads) {
            const int j = idx / x_units, u = idx % x_units;
            const int64_t tok = min(tok0 + j, n_tok - 1);
            const auto* src = reinterpret_cast<const uint32_t*>(x + tok * x_row_bytes + kb0 * sizeof(Act));
            reinterpret_cast<uint32_t*>(s_x + j * Tile::kXStride)[u] = src[u];
        }
        __syncthreads();

        for (int b = 0; b < n_blk; ++b) {
            const uint8_t* wb[kTM];
            const Act* xb[kTN];
#pragma unroll
            for (int i = 0; i < kTM; ++i) wb[i] = s_w + (rl + 16 * i) * Tile::kWStride + b * F::kBytes;
#pragma unroll
            for (int j = 0; j < kTN; ++j)
                xb[j] = reinterpret_cast<const Act*>(s_x + (tg + 16 * j) * Tile::kXStride) + b;

            Partial p[kTM][kTN];
#pragma unroll
            for (int i = 0; i < kTM; ++i)
#pragma unroll
                for (int j = 0; j < kTN; ++j) p[i][j] = F::dot_part(wb[i], xb[j], 0);
            // Unrolled: part indices become constants, so each row's scale decoding is shared by the parts that
            // read the same scales and by all kTN tokens.
#pragma unroll
            for (int part = 1; part < F::kParts; ++part) {
#pragma unroll
                for (int i = 0; i < kTM; ++i)
#pragma unroll
                    for (int j = 0; j < kTN; ++j) p[i][j] = F::add(p[i][j], F::dot_part(wb[i], xb[j], part));
            }
#pragma unroll
            for (int i = 0; i < kTM; ++i)
#pragma unroll
                for (int j = 0; j < kTN; ++j) acc[i][j] += F::finish(wb[i], xb[j], p[i][j]);
        }
        __syncthreads();  // before the next step overwrites the tiles
    }

#pragma unroll
    for (int j = 0; j < kTN; ++j) {
        const int64_t tok = tok0 + tg + 16 * j;
        if (tok >= n_tok) continue;
#pragma unroll
        for (int i = 0; i < kTM; ++i) {
            const int64_t row = row0 + rl + 16 * i;
            if (row < n_out) y[tok * y_stride + row] = acc[i][j];
        }
    }
}

// Float weights: 64 rows x 64 tokens a block, 32 columns a step, 4 x 4 outputs a thread, zero-filled past n_in.
constexpr int kFloatTile = 64;
constexpr int kFloatStep = 32;

template <quant::DType T>
__global__ void __launch_bounds__(kThreads)
    prefill_float_kernel(const uint8_t* __restrict__ w, size_t w_row_bytes, int64_t n_out, int64_t n_in,
                         const float* __restrict__ x, int64_t x_stride, int64_t n_tok, float* __restrict__ y,
                         int64_t y_stride) {
    grid_dependency_sync();
    // +1 column: the 16 rows a warp reads at one column sit in 16 different banks.
    __shared__ float s_w[kFloatTile][kFloatStep + 1];
    __shared__ float s_x[kFloatTile][kFloatStep + 1];
    constexpr int kT = kFloatTile / 16;

    const int tid = threadIdx.x;
    const int rl = tid % 16, tg = tid / 16;
    const int64_t row0 = int64_t(blockIdx.x) * kFloatTile;
    const int64_t tok0 = int64_t(blockIdx.y) * kFloatTile;

    float acc[kT][kT];
#pragma unroll
    for (int i = 0; i < kT; ++i)
#pragma unroll
        for (int j = 0; j < kT; ++j) acc[i][j] = 0.0f;

    for (int64_t k0 = 0; k0 < n_in; k0 += kFloatStep) {
        for (int idx = tid; idx < kFloatTile * kFloatStep; idx += kThreads) {
            const int i = idx / kFloatStep, k = idx % kFloatStep;
            const int64_t col = k0 + k;
            const int64_t row = row0 + i, tok = tok0 + i;
            s_w[i][k] = row < n_out && col < n_in ? load_float_weight<T>(w + row * w_row_bytes, col) : 0.0f;
            s_x[i][k] = tok < n_tok && col < n_in ? x[tok * x_stride + col] : 0.0f;
        }
        __syncthreads();
#pragma unroll 8
        for (int k = 0; k < kFloatStep; ++k) {
            float wv[kT], xv[kT];
#pragma unroll
            for (int i = 0; i < kT; ++i) wv[i] = s_w[rl + 16 * i][k];
#pragma unroll
            for (int j = 0; j < kT; ++j) xv[j] = s_x[tg + 16 * j][k];
#pragma unroll
            for (int i = 0; i < kT; ++i)
#pragma unroll
                for (int j = 0; j < kT; ++j) acc[i][j] = fmaf(wv[i], xv[j], acc[i][j]);
        }
        __syncthreads();
    }

#pragma unroll
    for (int j = 0; j < kT; ++j) {
        const int64_t tok = tok0 + tg + 16 * j;
        if (tok >= n_tok) continue;
#pragma unroll
        for (int i = 0; i < kT; ++i) {
            const int64_t row = row0 + rl + 16 * i;
            if (row < n_out) y[tok * y_stride + row] = acc[i][j];
        }
    }
}

// Row tiles on grid.x (up to 2^31 - 1), token tiles on grid.y (up to 65535: 4M tokens at 64 a tile).
dim3 tile_grid(int64_t n_out, int64_t n_tok, int rows, int toks) {
    const int64_t gy = (n_tok + toks - 1) / toks;
    if (gy > 65535) throw std::invalid_argument("matmul prefill: too many token rows for one launch");
    return dim3(unsigned((n_out + rows - 1) / rows), unsigned(gy));
}

}  // namespace

void matmul_prefill_quant(const DeviceWeight& w, const void* x_q, size_t x_row_bytes, int64_t n_rows,
                          const DeviceRows& y, cudaStream_t stream) {
    const bool known = visit_block_type(w.type, [&](auto type) {
        constexpr quant::DType T = decltype(type)::value;
        using Tile = PrefillTile<T>;
        const dim3 grid = tile_grid(w.n_out, n_rows, Tile::kRows, Tile::kToks);
        launch_kernel(prefill_quant_kernel<T>, grid, kThreads, 0, stream, static_cast<const uint8_t*>(w.data),
                      w.row_bytes, w.n_out, w.n_in / Format<T>::kElems, static_cast<const uint8_t*>(x_q),
                      x_row_bytes, n_rows, y.data, y.stride);
    });
    if (!known) throw std::invalid_argument("matmul_prefill_quant: not a block format");
}

void matmul_prefill_float(const DeviceWeight& w, const DeviceRows& x, const DeviceRows& y, cudaStream_t stream) {
    const bool known = visit_float_type(w.type, [&](auto type) {
        constexpr quant::DType T = decltype(type)::value;
        const dim3 grid = tile_grid(w.n_out, x.n_rows, kFloatTile, kFloatTile);
        launch_kernel(prefill_float_kernel<T>, grid, kThreads, 0, stream, static_cast<const uint8_t*>(w.data),
                      w.row_bytes, w.n_out, w.n_in, x.data, x.stride, x.n_rows, y.data, y.stride);
    });
    if (!known) throw std::invalid_argument("matmul_prefill_float: not a float format");
}

}  // namespace hotrod::cuda::detail
