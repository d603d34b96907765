// The message of HOTROD_CUDA_CHECK.
#include "cuda/check.h"

namespace hotrod::cuda {

void throw_cuda_error(cudaError_t code, const char* call, const char* file, int line) {
    throw CudaError(std::string(call) + " failed at " + file + ":" + std::to_string(line) + ": " +
                        cudaGetErrorString(code) + " (" + cudaGetErrorName(code) + ")",
                    code);
}

}  // namespace hotrod::cuda
