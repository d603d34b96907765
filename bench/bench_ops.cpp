// CPU op kernels at decode size (one token) and a prefill chunk, through CpuBackend (what the forward pays,
// pool dispatch included) at the shapes of SmolLM2-135M (dim 576, 9/3 heads x 64, FFN 1536) and Gemma 3 270M
// (dim 640, 4/1 heads x 256, FFN 2048). BM_PoolDispatch is the floor: one empty job on the pool.
// Each attention case is checked against the scalar reference once before it is timed.
// Run: build/bin/bench_ops [--benchmark_filter=Attention]; HOTROD_ISA=avx2|scalar caps the kernels.
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <numeric>
#include <random>
#include <vector>

#include "cpu/cpu_backend.h"
#include "cpu/ops_attention.h"
#include "quant/types.h"

namespace {

using hotrod::backend::TensorView;
using hotrod::quant::DType;

constexpr int kThreads = 2;

hotrod::cpu::CpuBackend& backend() {
    static hotrod::cpu::CpuBackend be(kThreads);
    return be;
}

struct Mat {
    std::vector<float> data;
    int64_t n_rows, n_cols;
    Mat(int64_t r, int64_t c, uint32_t seed = 1) : data(size_t(r * c)), n_rows(r), n_cols(c) {
        std::mt19937 rng(seed);
        std::uniform_real_distribution<float> d(-1, 1);
        for (auto& x : data) x = d(rng);
    }
    TensorView view() { return {DType::F32, data.data(), n_rows, n_cols, size_t(n_cols) * 4}; }
};

void BM_PoolDispatch(benchmark::State& st) {
    auto& pool = backend().pool();
    for (auto _ : st) pool.run([](int, int) {});
}
BENCHMARK(BM_PoolDispatch);

void BM_RmsNorm(benchmark::State& st) {
    const int64_t n_tokens = st.range(0), dim = st.range(1);
    Mat x(n_tokens, dim), w(1, dim), out(n_tokens, dim);
    for (auto _ : st) backend().rms_norm(x.view(), w.view(), 1e-6f, out.view());
    st.SetBytesProcessed(int64_t(st.iterations()) * n_tokens * dim * 8);
}
BENCHMARK(BM_RmsNorm)->Args({1, 576})->Args({1, 640})->Args({512, 640});

void BM_RmsNormHeads(benchmark::State& st) {
    const int64_t n_tokens = st.range(0), hd = st.range(1), n_heads = st.range(2);
    Mat x(n_tokens, hd * n_heads), w(1, hd);
    for (auto _ : st) backend().rms_norm_heads(x.view(), w.view(), int(hd), 1e-6f);
}
BENCHMARK(BM_RmsNormHeads)->Args({1, 256, 4})->Args({512, 256, 4});

void BM_Rope(benchmark::State& st) {
    const int64_t n_tokens = st.range(0), hd = st.range(1), n_heads = st.range(2);
    Mat x(n_tokens, hd * n_heads);
    std::vector<int32_t> pos(static_cast<size_t>(n_tokens));
    std::iota(pos.begin(), pos.end(), 100);
    const hotrod::backend::RopeParams p{hotrod::backend::RopeKind::NeoX, int(hd), 10000.0f, 1.0f};
    for (auto _ : st) backend().rope(x.view(), int(hd), pos, p);  // table cached after the first call, as in a layer
}
BENCHMARK(BM_Rope)->Args({1, 64, 9})->Args({1, 256, 4})->Args({512, 64, 9});

void BM_SwiGlu(benchmark::State& st) {
    const int64_t n_tokens = st.range(0), n = st.range(1);
    Mat g(n_tokens, n), u(n_tokens, n, 2), out(n_tokens, n);
    for (auto _ : st) backend().swiglu(g.view(), u.view(), out.view());
}
BENCHMARK(BM_SwiGlu)->Args({1, 1536})->Args({512, 1536});

void BM_GeGlu(benchmark::State& st) {
    const int64_t n_tokens = st.range(0), n = st.range(1);
    Mat g(n_tokens, n), u(n_tokens, n, 2), out(n_tokens, n);
    for (auto _ : st) backend().geglu(g.view(), u.view(), out.view());
}
BENCHMARK(BM_GeGlu)->Args({1, 2048})->Args({512, 2048});

void BM_Add(benchmark::State& st) {
    const int64_t n_tokens = st.range(0), n = st.range(1);
    Mat x(n_tokens, n), y(n_tokens, n, 2);
    for (auto _ : st) backend().add(x.view(), y.view());
}
BENCHMARK(BM_Add)->Args({1, 576})->Args({512, 640});

// One sequence of `context` cached positions; n_tokens new ones at its end (1 = decode).
void BM_Attention(benchmark::State& st) {
    const int n_heads = int(st.range(0)), n_kv = int(st.range(1)), hd = int(st.range(2));
    const int context = int(st.range(3)), n_tokens = int(st.range(4)), block_size = 16;
    const int n_blocks = (context + block_size - 1) / block_size;
    std::vector<int32_t> table(static_cast<size_t>(n_blocks));
    std::iota(table.rbegin(), table.rend(), 0);  // blocks in reverse order
    const std::vector<const int32_t*> tables = {table.data()};
    std::vector<int32_t> pos_all(static_cast<size_t>(context)), seq_all(static_cast<size_t>(context), 0);
    std::iota(pos_all.begin(), pos_all.end(), 0);
    std::vector<uint16_t> kc(size_t(n_blocks) * block_size * n_kv * hd), vc(kc.size());
    const hotrod::backend::KvLayerView cache{DType::F16, kc.data(), vc.data(), n_kv, hd};
    Mat k(context, n_kv * hd, 3), v(context, n_kv * hd, 4);
    auto& be = backend();
    be.kv_store(cache, {pos_all, seq_all, tables, block_size}, k.view(), v.view());
    const std::vector<int32_t> pos(pos_all.end() - n_tokens, pos_all.end()), seq(static_cast<size_t>(n_tokens), 0);
    const hotrod::backend::KvLayout layout{pos, seq, tables, block_size};
    const hotrod::backend::AttentionParams p{n_heads, n_kv, hd, 1.0f / std::sqrt(float(hd)), 0, 0.0f};
    Mat q(n_tokens, n_heads * hd, 5), out(n_tokens, n_heads * hd), ref(n_tokens, n_heads * hd);

    hotrod::cpu::AttentionJob job;
    job.q = q.data.data(), job.q_stride = size_t(n_heads) * hd, job.out = ref.data.data(), job.out_stride = job.q_stride;
    job.kv_type = DType::F16, job.k = reinterpret_cast<uint8_t*>(kc.data()), job.v = reinterpret_cast<uint8_t*>(vc.data());
    job.kv_row_bytes = size_t(n_kv) * hd * 2, job.n_heads = n_heads, job.n_kv_heads = n_kv, job.head_dim = hd;
    job.scale = p.scale, job.positions = pos.data(), job.token_seq = seq.data(), job.block_tables = tables.data();
    job.block_size = block_size;
    hotrod::cpu::attention_run(job, n_tokens, {hotrod::cpu::attention_scores_ref, hotrod::cpu::attention_values_ref, nullptr});
    be.attention(q.view(), cache, layout, p, out.view());
    double err = 0;
    for (size_t i = 0; i < out.data.size(); ++i) err = std::max(err, double(std::fabs(out.data[i] - ref.data[i])));
    // Probabilities are rounded to fp16 (cpu/ops_attention.h): one on a rounding boundary may round the other way
    // in the SIMD path, moving an output by up to 2^-11 (|v| <= 1).
    if (err > 4.9e-4) {
        st.SkipWithError("attention differs from the reference");
        return;
    }
    for (auto _ : st) be.attention(q.view(), cache, layout, p, out.view());
    // KV bytes read per call (each position's K and V head slices once per token).
    st.SetBytesProcessed(int64_t(st.iterations()) * n_tokens * int64_t(context) * n_kv * hd * 2 * 2);
}
BENCHMARK(BM_Attention)
    ->Args({9, 3, 64, 128, 1})->Args({9, 3, 64, 1024, 1})->Args({9, 3, 64, 4096, 1})
    ->Args({4, 1, 256, 128, 1})->Args({4, 1, 256, 1024, 1})->Args({4, 1, 256, 4096, 1})
    ->Args({9, 3, 64, 512, 512})->Args({4, 1, 256, 512, 512});

void BM_KvStore(benchmark::State& st) {
    const int n_kv = int(st.range(0)), hd = int(st.range(1)), n_tokens = int(st.range(2)), block_size = 16;
    const int n_blocks = (n_tokens + block_size - 1) / block_size;
    std::vector<int32_t> table(static_cast<size_t>(n_blocks));
    std::iota(table.begin(), table.end(), 0);
    const std::vector<const int32_t*> tables = {table.data()};
    std::vector<int32_t> pos(static_cast<size_t>(n_tokens)), seq(static_cast<size_t>(n_tokens), 0);
    std::iota(pos.begin(), pos.end(), 0);
    std::vector<uint16_t> kc(size_t(n_blocks) * block_size * n_kv * hd), vc(kc.size());
    Mat k(n_tokens, n_kv * hd, 3), v(n_tokens, n_kv * hd, 4);
    for (auto _ : st) {
        backend().kv_store({DType::F16, kc.data(), vc.data(), n_kv, hd}, {pos, seq, tables, block_size}, k.view(), v.view());
    }
}
BENCHMARK(BM_KvStore)->Args({3, 64, 1})->Args({1, 256, 1})->Args({3, 64, 512});

}  // namespace

int main(int argc, char** argv) {
    std::printf("%s\n", backend().name().c_str());
    benchmark::Initialize(&argc, argv);
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
