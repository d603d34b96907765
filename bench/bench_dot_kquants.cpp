// GB/s (1 and 2 threads) of the K-format dot kernels as a decode GEMV (weight rows x 1..8 Q8_K columns) beside a plain
// copy of the same bytes, the floor a memory-bound GEMV cannot beat. Weights: a 2560 x 9728 matrix (the brief's
// size) and a 4x larger set cycled so it cannot sit in the 32 MB L3. Each kernel is checked against the scalar
// reference on a few rows before it is timed.
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstring>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "cpu/dot_kquants.h"
#include "quant/blocks.h"
#include "quant/half.h"
#include "quant/quantize.h"
#include "quant/types.h"

namespace {

using namespace hotrod;

constexpr int64_t kCols = 9728;  // elements per weight row
constexpr int kRows = 2560;

struct Weights {
    quant::DType type;
    size_t row_bytes;
    int n_rows;
    std::vector<uint8_t> bytes;
};

// Random weight bytes with every fp16 field set to a small finite value (d and dmin sit at known offsets).
Weights make_weights(quant::DType type, int n_rows) {
    const auto& info = quant::type_info(type);
    Weights w{type, *quant::row_bytes(type, kCols), n_rows, {}};
    w.bytes.resize(w.row_bytes * size_t(n_rows));
    std::mt19937 rng(7);
    for (auto& b : w.bytes) b = uint8_t(rng());
    size_t d_off = 0, dmin_off = SIZE_MAX;
    switch (type) {
        case quant::DType::Q2_K: d_off = offsetof(quant::BlockQ2_K, d); dmin_off = offsetof(quant::BlockQ2_K, dmin); break;
        case quant::DType::Q3_K: d_off = offsetof(quant::BlockQ3_K, d); break;
        case quant::DType::Q4_K: d_off = offsetof(quant::BlockQ4_K, d); dmin_off = offsetof(quant::BlockQ4_K, dmin); break;
        case quant::DType::Q5_K: d_off = offsetof(quant::BlockQ5_K, d); dmin_off = offsetof(quant::BlockQ5_K, dmin); break;
        default: d_off = offsetof(quant::BlockQ6_K, d); break;
    }
    const uint16_t h = quant::fp32_to_fp16(0.01f);
    for (size_t b = 0; b < w.bytes.size() / info.block_bytes; ++b) {
        std::memcpy(&w.bytes[b * info.block_bytes + d_off], &h, 2);
        if (dmin_off != SIZE_MAX) std::memcpy(&w.bytes[b * info.block_bytes + dmin_off], &h, 2);
    }
    return w;
}

std::vector<uint8_t> make_activations(int n_cols) {
    std::mt19937 rng(11);
    std::normal_distribution<float> normal;
    std::vector<float> x(static_cast<size_t>(kCols));
    const size_t x_row = *quant::row_bytes(quant::DType::Q8_K, kCols);
    std::vector<uint8_t> q(x_row * size_t(n_cols));
    for (int c = 0; c < n_cols; ++c) {
        for (auto& v : x) v = normal(rng);
        quant::quantize_row_q8_k_ref(x.data(), &q[x_row * size_t(c)], kCols);
    }
    return q;
}

cpu::DotTile make_tile(const Weights& w, int row0, int n_rows, const std::vector<uint8_t>& x, int n_cols, float* out) {
    const size_t x_row = *quant::row_bytes(quant::DType::Q8_K, kCols);
    return {kCols, w.bytes.data() + w.row_bytes * size_t(row0), w.row_bytes, n_rows, x.data(), x_row, n_cols, out,
            size_t(w.n_rows)};
}

// Compares 5 rows with the scalar kernel; a kernel that disagrees is not worth timing.
void check_against_scalar(cpu::DotKernel kernel, const Weights& w, const std::vector<uint8_t>& x, int n_cols) {
    std::vector<float> got(size_t(w.n_rows) * size_t(n_cols)), want(got.size());
    kernel(make_tile(w, 0, 5, x, n_cols, got.data()));
    cpu::find_dot_kernel_kquants(w.type, cpu::Isa::Scalar)(make_tile(w, 0, 5, x, n_cols, want.data()));
    for (int c = 0; c < n_cols; ++c) {
        for (int r = 0; r < 5; ++r) {
            const float g = got[size_t(c) * size_t(w.n_rows) + size_t(r)], e = want[size_t(c) * size_t(w.n_rows) + size_t(r)];
            if (!(std::fabs(g - e) <= 1e-3f * (1.0f + std::fabs(e)))) throw std::runtime_error("kernel disagrees with reference");
        }
    }
}

void BM_gemv(benchmark::State& state, quant::DType type, cpu::Isa isa, int n_sets) {
    const int n_cols = int(state.range(0));
    const cpu::DotKernel kernel = cpu::find_dot_kernel_kquants(type, isa);
    const bool runnable = isa == cpu::Isa::Avx2 ? __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")
                                                 : __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vnni");
    if (kernel == nullptr || !runnable) {
        state.SkipWithError("ISA not available");
        return;
    }
    const Weights w = make_weights(type, kRows * n_sets);
    const auto x = make_activations(n_cols);
    std::vector<float> out(size_t(w.n_rows) * size_t(n_cols));
    check_against_scalar(kernel, w, x, n_cols);
    // With ->Threads(k) each thread takes its share of the rows (Google Benchmark sums the threads' bytes).
    const int rows = kRows / state.threads(), row0 = rows * state.thread_index();
    int set = 0;
    for (auto _ : state) {
        kernel(make_tile(w, set * kRows + row0, rows, x, n_cols, out.data() + row0));
        benchmark::DoNotOptimize(out.data());
        set = (set + 1) % n_sets;
    }
    state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(w.row_bytes) * rows);
}

// memcpy of one matrix's bytes per iteration (read + write, counted as the bytes read, like the GEMV).
void BM_copy(benchmark::State& state, int n_sets) {
    const Weights w = make_weights(quant::DType::Q4_K, kRows * n_sets);
    const size_t bytes = w.row_bytes * kRows / size_t(state.threads());
    const size_t offset = bytes * size_t(state.thread_index());
    std::vector<uint8_t> dst(bytes);
    int set = 0;
    for (auto _ : state) {
        std::memcpy(dst.data(), w.bytes.data() + w.row_bytes * kRows * size_t(set) + offset, bytes);
        benchmark::DoNotOptimize(dst.data());
        set = (set + 1) % n_sets;
    }
    state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(bytes));
}

// Sum of one matrix's bytes as 64-bit words: a read-only stream, the closer floor for a GEMV.
void BM_read(benchmark::State& state, int n_sets) {
    const Weights w = make_weights(quant::DType::Q4_K, kRows * n_sets);
    const size_t bytes = w.row_bytes * kRows / size_t(state.threads());
    const size_t offset = bytes * size_t(state.thread_index());
    int set = 0;
    for (auto _ : state) {
        const uint8_t* p = w.bytes.data() + w.row_bytes * kRows * size_t(set) + offset;
        uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        for (size_t i = 0; i + 32 <= bytes; i += 32) {
            uint64_t v[4];
            std::memcpy(v, p + i, 32);
            s0 += v[0]; s1 += v[1]; s2 += v[2]; s3 += v[3];
        }
        benchmark::DoNotOptimize(s0 + s1 + s2 + s3);
        set = (set + 1) % n_sets;
    }
    state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(bytes));
}

void register_all() {
    using quant::DType;
    using cpu::Isa;
    benchmark::RegisterBenchmark("copy/l3", BM_copy, 1)->Threads(1)->Threads(2)->UseRealTime();
    benchmark::RegisterBenchmark("copy/dram", BM_copy, 4)->Threads(1)->Threads(2)->UseRealTime();
    benchmark::RegisterBenchmark("read/l3", BM_read, 1)->Threads(1)->Threads(2)->UseRealTime();
    benchmark::RegisterBenchmark("read/dram", BM_read, 4)->Threads(1)->Threads(2)->UseRealTime();
    for (DType type : {DType::Q4_K, DType::Q6_K, DType::Q5_K, DType::Q3_K, DType::Q2_K}) {
        for (Isa isa : {Isa::Avx2, Isa::Avx512}) {
            for (int n_sets : {1, 4}) {
                const std::string name = std::string(quant::type_name(type)) + "/" + std::string(isa == cpu::Isa::Avx2 ? "avx2" : "avx512") +
                                         (n_sets == 1 ? "/l3" : "/dram");
                benchmark::RegisterBenchmark(name.c_str(), BM_gemv, type, isa, n_sets)
                    ->Arg(1)->Arg(4)->Arg(8)->Threads(1)->Threads(2)->UseRealTime();
            }
        }
    }
}

}  // namespace

int main(int argc, char** argv) {
    register_all();
    benchmark::Initialize(&argc, argv);
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
