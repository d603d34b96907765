// Every CUDA runtime call goes through HOTROD_CUDA_CHECK: a failure throws
// CudaError naming the call, the file and line, and the runtime's own words (never a bare error code).
// Kernels are launched through launch_kernel (launch.cuh), which checks the launch the same way.
#pragma once

#include <cuda_runtime_api.h>

#include <stdexcept>
#include <string>

namespace hotrod::cuda {

class CudaError : public std::runtime_error {
public:
    CudaError(const std::string& what, cudaError_t code) : std::runtime_error(what), code_(code) {}
    cudaError_t code() const { return code_; }
    // Out of device memory: the server answers the request that hit it and goes on.
    bool out_of_memory() const { return code_ == cudaErrorMemoryAllocation; }

private:
    cudaError_t code_;
};

[[noreturn]] void throw_cuda_error(cudaError_t code, const char* call, const char* file, int line);

}  // namespace hotrod::cuda

#define HOTROD_CUDA_CHECK(call)                                                                     \
    do {                                                                                            \
        const cudaError_t hotrod_cuda_err_ = (call);                                                \
        if (hotrod_cuda_err_ != cudaSuccess)                                                        \
            ::hotrod::cuda::throw_cuda_error(hotrod_cuda_err_, #call, __FILE__, __LINE__);          \
    } while (0)
