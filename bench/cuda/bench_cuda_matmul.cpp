// The CUDA matmul kernels alone, timed with CUDA events on weight shapes of the models we serve: microseconds per
// call, weight bytes read per second against the device's measured copy bandwidth (decode: 1-16 token rows, bound
// by reading the weight once), and the arithmetic rate of the prefill path (512 rows). It measures; it asserts
// nothing (the kernels' correctness is tests/unit/cuda's job).
//   usage: bench_cuda_matmul [TYPE:N_OUTxN_IN ...]     e.g. Q4_K:9728x2560 Q6_K:151936x2560
// Each matrix is held in enough copies to pass 256 MiB, and calls rotate over them, so no weight read is served from
// the 50 MB L2 of an H100 (a single 14 MB matrix would be).
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "cuda/check.h"
#include "cuda/matmul.h"
#include "quant/quantize.h"
#include "quant/types.h"

namespace {

using hotrod::quant::DType;

struct Case {
    DType type;
    int64_t n_out, n_in;
};

bool parse_case(const std::string& s, Case* c) {
    const size_t colon = s.find(':'), x = s.find('x', colon == std::string::npos ? 0 : colon);
    if (colon == std::string::npos || x == std::string::npos) return false;
    const auto t = hotrod::quant::type_from_name(s.substr(0, colon));
    if (!t) return false;
    c->type = *t;
    c->n_out = std::stoll(s.substr(colon + 1, x - colon - 1));
    c->n_in = std::stoll(s.substr(x + 1));
    return c->n_out > 0 && c->n_in > 0;
}

// Device-to-device copy rate, bytes read + written per second (the floor's denominator).
double copy_bandwidth() {
    const size_t bytes = size_t(1) << 30;
    void *a = nullptr, *b = nullptr;
    HOTROD_CUDA_CHECK(cudaMalloc(&a, bytes));
    HOTROD_CUDA_CHECK(cudaMalloc(&b, bytes));
    cudaEvent_t e0, e1;
    HOTROD_CUDA_CHECK(cudaEventCreate(&e0));
    HOTROD_CUDA_CHECK(cudaEventCreate(&e1));
    HOTROD_CUDA_CHECK(cudaMemcpy(b, a, bytes, cudaMemcpyDeviceToDevice));
    std::vector<float> ms;
    for (int i = 0; i < 7; ++i) {
        HOTROD_CUDA_CHECK(cudaEventRecord(e0));
        HOTROD_CUDA_CHECK(cudaMemcpy(b, a, bytes, cudaMemcpyDeviceToDevice));
        HOTROD_CUDA_CHECK(cudaEventRecord(e1));
        HOTROD_CUDA_CHECK(cudaEventSynchronize(e1));
        float t = 0;
        HOTROD_CUDA_CHECK(cudaEventElapsedTime(&t, e0, e1));
        ms.push_back(t);
    }
    std::sort(ms.begin(), ms.end());
    cudaFree(a);
    cudaFree(b);
    cudaEventDestroy(e0);
    cudaEventDestroy(e1);
    return 2.0 * double(bytes) / (double(ms[ms.size() / 2]) * 1e-3);
}

void run_case(const Case& c, double copy_bw) {
    const size_t row_bytes = hotrod::quant::row_bytes(c.type, c.n_in).value_or(0);
    if (row_bytes == 0) {
        std::printf("%s %lldx%lld: n_in is not a whole number of blocks\n", std::string(hotrod::quant::type_name(c.type)).c_str(),
                    (long long)c.n_out, (long long)c.n_in);
        return;
    }
    // 64 distinct quantized rows of random floats, tiled over the matrix (values do not change a kernel's speed).
    std::mt19937 rng(7);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    const int distinct = 64;
    std::vector<uint8_t> rows(size_t(distinct) * row_bytes);
    std::vector<float> f(size_t(c.n_in));
    for (int r = 0; r < distinct; ++r) {
        for (float& v : f) v = normal(rng) * 0.05f;
        hotrod::quant::quantize_row(c.type, f.data(), rows.data() + size_t(r) * row_bytes, c.n_in);
    }
    std::vector<uint8_t> host(size_t(c.n_out) * row_bytes);
    for (int64_t r = 0; r < c.n_out; ++r)
        std::copy_n(rows.data() + size_t(r % distinct) * row_bytes, row_bytes, host.data() + size_t(r) * row_bytes);
    const size_t w_bytes = host.size();
    const int copies = int(std::max<size_t>(1, (size_t(256) << 20) / w_bytes + 1));
    std::vector<void*> w(static_cast<size_t>(copies));
    for (void*& p : w) {
        HOTROD_CUDA_CHECK(cudaMalloc(&p, w_bytes));
        HOTROD_CUDA_CHECK(cudaMemcpy(p, host.data(), w_bytes, cudaMemcpyHostToDevice));
    }
    const int64_t max_rows = 512;
    std::vector<float> xh(size_t(max_rows * c.n_in));
    for (float& v : xh) v = normal(rng);
    float *x = nullptr, *y = nullptr;
    HOTROD_CUDA_CHECK(cudaMalloc(&x, xh.size() * sizeof(float)));
    HOTROD_CUDA_CHECK(cudaMalloc(&y, size_t(max_rows * c.n_out) * sizeof(float)));
    HOTROD_CUDA_CHECK(cudaMemcpy(x, xh.data(), xh.size() * sizeof(float), cudaMemcpyHostToDevice));

    hotrod::cuda::Matmul mm;
    mm.reserve(max_rows, c.n_in);
    cudaStream_t s;
    HOTROD_CUDA_CHECK(cudaStreamCreate(&s));
    cudaEvent_t e0, e1;
    HOTROD_CUDA_CHECK(cudaEventCreate(&e0));
    HOTROD_CUDA_CHECK(cudaEventCreate(&e1));
    std::printf("%s %lldx%lld (%.1f MB, %d copies):\n", std::string(hotrod::quant::type_name(c.type)).c_str(), (long long)c.n_out,
                (long long)c.n_in, double(w_bytes) / 1e6, copies);
    for (int64_t n_rows : {1, 2, 4, 8, 16, 64, 512}) {
        const hotrod::cuda::DeviceRows xr{x, n_rows, c.n_in, c.n_in}, yr{y, n_rows, c.n_out, c.n_out};
        // x_unchanged: the quantized x of the first call is reused, so the time is the matmul kernel's alone.
        for (bool reuse : {false, true}) {
            const int iters = n_rows > 16 ? 10 : 50;
            auto call = [&](int i) {
                const hotrod::cuda::DeviceWeight dw{c.type, w[size_t(i % copies)], c.n_out, c.n_in, row_bytes};
                mm.run(dw, xr, yr, reuse && i > 0, s);
            };
            for (int i = 0; i < 3; ++i) call(i);
            HOTROD_CUDA_CHECK(cudaEventRecord(e0, s));
            for (int i = 0; i < iters; ++i) call(i + 1);
            HOTROD_CUDA_CHECK(cudaEventRecord(e1, s));
            HOTROD_CUDA_CHECK(cudaEventSynchronize(e1));
            float ms = 0;
            HOTROD_CUDA_CHECK(cudaEventElapsedTime(&ms, e0, e1));
            const double t = double(ms) * 1e-3 / iters;
            const double bw = double(w_bytes) / t;
            std::printf("  rows %3lld %-9s %9.1f us  weights %6.0f GB/s = %4.0f%% of copy  %7.1f TOP/s\n",
                        (long long)n_rows, reuse ? "kernel" : "+quant", t * 1e6, bw / 1e9, 100.0 * bw / copy_bw,
                        2.0 * double(c.n_out) * double(c.n_in) * double(n_rows) / t / 1e12);
        }
    }
    cudaEventDestroy(e0);
    cudaEventDestroy(e1);
    cudaStreamDestroy(s);
    cudaFree(x);
    cudaFree(y);
    for (void* p : w) cudaFree(p);
}

}  // namespace

int main(int argc, char** argv) {
    std::vector<Case> cases;
    for (int i = 1; i < argc; ++i) {
        Case c{};
        if (!parse_case(argv[i], &c)) {
            std::fprintf(stderr, "bench_cuda_matmul: '%s' is not TYPE:N_OUTxN_IN (e.g. Q4_K:9728x2560)\n", argv[i]);
            return 2;
        }
        cases.push_back(c);
    }
    if (cases.empty())  // Qwen3-4B's shapes (the published workload's size), and the small models' formats
        cases = {{DType::Q4_K, 9728, 2560}, {DType::Q4_K, 2560, 9728}, {DType::Q6_K, 2560, 9728},
                 {DType::Q4_K, 1024, 2560}, {DType::Q6_K, 151936, 2560}, {DType::Q4_1, 1536, 576},
                 {DType::Q8_0, 4096, 2560}};
    try {
        cudaDeviceProp p{};
        HOTROD_CUDA_CHECK(cudaGetDeviceProperties(&p, 0));
        const double bw = copy_bandwidth();
        std::printf("%s: device copy %.0f GB/s (read + write)\n", p.name, bw / 1e9);
        for (const Case& c : cases) run_case(c, bw);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "bench_cuda_matmul: %s\n", e.what());
        return 1;
    }
    return 0;
}
