// The messages of HOTROD_CUDA_CHECK / HOTROD_CUBLAS_CHECK.
#include "cuda/check.h"

#include <cublas_api.h>

namespace hotrod::cuda {

void throw_cuda_error(cudaError_t code, const char* call, const char* file, int line) {
    throw CudaError(std::string(call) + " failed at " + file + ":" + std::to_string(line) + ": " +
                        cudaGetErrorString(code) + " (" + cudaGetErrorName(code) + ")",
                    code);
}

void throw_cublas_error(int status, const char* call, const char* file, int line) {
    const auto s = static_cast<cublasStatus_t>(status);
    const cudaError_t as_cuda = s == CUBLAS_STATUS_ALLOC_FAILED ? cudaErrorMemoryAllocation : cudaErrorUnknown;
    throw CudaError(std::string(call) + " failed at " + file + ":" + std::to_string(line) + ": cuBLAS " +
                        cublasGetStatusName(s) + " (" + cublasGetStatusString(s) + ")",
                    as_cuda);
}

}  // namespace hotrod::cuda
