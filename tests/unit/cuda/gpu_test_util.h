// Shared by the CUDA tests: skip without a GPU, device buffers that free themselves, random data (never zeros),
// and error measures against a reference.
#pragma once

#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "cuda/check.h"

namespace hotrod::cuda::test {

// "" when a usable GPU is present, else why not.
inline std::string gpu_missing_reason() {
    int n = 0;
    const cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess) return std::string("no CUDA device: ") + cudaGetErrorString(e);
    if (n == 0) return "no CUDA device";
    return "";
}

#define HOTROD_REQUIRE_GPU()                                                                    \
    do {                                                                                        \
        const std::string hotrod_why_ = ::hotrod::cuda::test::gpu_missing_reason();             \
        if (!hotrod_why_.empty()) GTEST_SKIP() << "skipped: " << hotrod_why_;                   \
    } while (0)

// Device memory holding a copy of a host vector (or n uninitialised elements), freed on scope exit.
template <class T>
class DeviceArray {
public:
    explicit DeviceArray(size_t n) : n_(n) { HOTROD_CUDA_CHECK(cudaMalloc(&p_, std::max<size_t>(n, 1) * sizeof(T))); }
    explicit DeviceArray(const std::vector<T>& host) : DeviceArray(host.size()) { upload(host); }
    ~DeviceArray() { cudaFree(p_); }
    DeviceArray(const DeviceArray&) = delete;
    DeviceArray& operator=(const DeviceArray&) = delete;
    T* get() const { return p_; }
    size_t size() const { return n_; }
    // upload and poison wait for their copy / fill to land: both run on the legacy default stream, which the
    // backend's non-blocking stream does not wait for. cudaMemset returns before the fill is done, and cudaMemcpy
    // from pageable memory may return before its DMA is, so without the wait a kernel launched right after could
    // read the old bytes, or have its output overwritten by the poison afterwards (CudaDeltaRule's 1-in-4 flake:
    // outputs of 0x7f7f7f7f = 3.4e38, a relative error of 3e39).
    void upload(const std::vector<T>& host) {
        HOTROD_CUDA_CHECK(cudaMemcpy(p_, host.data(), host.size() * sizeof(T), cudaMemcpyHostToDevice));
        HOTROD_CUDA_CHECK(cudaDeviceSynchronize());
    }
    // Fills every byte with `byte` (poison before a kernel writes, so unwritten outputs show).
    void poison(unsigned char byte = 0x7f) {
        HOTROD_CUDA_CHECK(cudaMemset(p_, byte, n_ * sizeof(T)));
        HOTROD_CUDA_CHECK(cudaDeviceSynchronize());
    }
    std::vector<T> download() const {
        std::vector<T> host(n_);
        HOTROD_CUDA_CHECK(cudaDeviceSynchronize());
        HOTROD_CUDA_CHECK(cudaMemcpy(host.data(), p_, n_ * sizeof(T), cudaMemcpyDeviceToHost));
        return host;
    }

private:
    T* p_ = nullptr;
    size_t n_;
};

inline std::vector<float> random_floats(size_t n, uint32_t seed, float scale = 1.0f) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> dist(0.0f, scale);
    std::vector<float> v(n);
    for (auto& x : v) {
        x = dist(rng);
        if (x == 0.0f) x = scale * 1e-3f;
    }
    return v;
}

struct ErrorStats {
    double max_abs = 0;
    double nmse = 0;  // sum (a - r)^2 / sum r^2
    bool finite = true;
};

inline ErrorStats compare(const float* got, const float* ref, size_t n) {
    ErrorStats s;
    double num = 0, den = 0;
    for (size_t i = 0; i < n; ++i) {
        if (!std::isfinite(got[i])) s.finite = false;
        const double d = double(got[i]) - double(ref[i]);
        s.max_abs = std::max(s.max_abs, std::fabs(d));
        num += d * d;
        den += double(ref[i]) * double(ref[i]);
    }
    s.nmse = den > 0 ? num / den : num;
    return s;
}

}  // namespace hotrod::cuda::test
