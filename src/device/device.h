// Device selection: the one place that turns the user's flags (--device, -ngl, --main-gpu, threads) into the
// Backend that runs the model. `auto` takes the GPU when this build has the CUDA backend and a GPU is present,
// else the CPU. The server and every command of the binary build their backend here.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "backend/backend.h"

namespace hotrod::device {

struct DeviceOptions {
    std::string device = "auto";    // auto | cpu | cuda | cuda:N
    int n_gpu_layers = -1;          // -ngl: 0 = CPU; any other value = the whole model on the GPU (-1: unset)
    int main_gpu = 0;               // the GPU to use when --device says cuda without a number
    int n_threads = 0;              // CPU threads (<= 0: every core)
    double gpu_mem_fraction = 0.9;  // share of the GPU's memory hotrod may take (weights, activations, KV cache)
};

// Thrown for a device that cannot be used as asked (no GPU with --device cuda, a bad flag value, a driver older
// than the build, an unsupported compute capability): the message says what and why.
class DeviceError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// The backend the options ask for. Throws DeviceError.
std::unique_ptr<backend::Backend> make_backend(const DeviceOptions& opt);

// The backends of a tensor-parallel group of n ranks (model/tensor_parallel.h), rank 0 first, joined so that
// Backend::all_reduce sums over them: on the CPU, ranks are threads of this process (cpu::HostGroup), each with a
// share of the threads (opt.n_threads, or cpu::default_thread_count(), over n). A GPU group needs NCCL, which this build does not
// have yet (issue 17): DeviceError, as for --device cuda or an auto that finds a GPU. n == 1: make_backend's.
// Members are destroyed bottom-up: the ranks before the group they joined.
struct BackendGroup {
    std::shared_ptr<void> group;  // the ranks' shared state (a cpu::HostGroup), held for them
    std::vector<std::unique_ptr<backend::Backend>> ranks;
};
BackendGroup make_backend_group(const DeviceOptions& opt, int n);

// Whether this build has the CUDA backend, and a one-line description of the GPUs present ("" when none).
bool cuda_built();
std::string gpu_summary();

// Help text for the flags above, shared by every command's --help.
const char* device_flags_help();

}  // namespace hotrod::device
