// make_backend: parses --device / -ngl / --main-gpu and builds the CPU or the CUDA backend (see device.h).
#include "device/device.h"

#include <algorithm>
#include <charconv>
#include <string>

#include "cpu/cpu_backend.h"
#include "cpu/host_group.h"
#include "cpu/thread_pool.h"
#ifdef HOTROD_HAVE_CUDA
#include "cuda/cuda_backend.h"
#endif

namespace hotrod::device {

namespace {

struct Choice {
    bool gpu = false;
    bool explicit_gpu = false;  // the user asked for the GPU: its absence is an error, not a fallback
    int gpu_index = 0;
};

Choice parse(const DeviceOptions& opt) {
    Choice c;
    const std::string& d = opt.device;
    if (opt.n_gpu_layers == 0 || d == "cpu") {
        if (d != "cpu" && d != "auto")
            throw DeviceError("--device " + d + " contradicts -ngl 0 (which keeps the model on the CPU)");
        return c;
    }
    c.gpu_index = opt.main_gpu;
    if (d == "auto") {
        c.gpu = true;
        c.explicit_gpu = opt.n_gpu_layers > 0;
    } else if (d == "cuda" || d == "gpu") {
        c.gpu = c.explicit_gpu = true;
    } else if (d.rfind("cuda:", 0) == 0) {
        c.gpu = c.explicit_gpu = true;
        const char* b = d.data() + 5;
        const char* e = d.data() + d.size();
        const auto r = std::from_chars(b, e, c.gpu_index);
        if (r.ec != std::errc() || r.ptr != e || c.gpu_index < 0)
            throw DeviceError("--device " + d + ": expected cuda:N with N a GPU index (0, 1, ...)");
    } else {
        throw DeviceError("--device " + d + ": expected auto, cpu, cuda or cuda:N");
    }
    if (opt.main_gpu < 0) throw DeviceError("--main-gpu " + std::to_string(opt.main_gpu) + ": must be >= 0");
    if (opt.gpu_mem_fraction <= 0 || opt.gpu_mem_fraction > 1)
        throw DeviceError("--gpu-mem-fraction " + std::to_string(opt.gpu_mem_fraction) + ": must be in (0, 1]");
    return c;
}

}  // namespace

bool cuda_built() {
#ifdef HOTROD_HAVE_CUDA
    return true;
#else
    return false;
#endif
}

std::string gpu_summary() {
#ifdef HOTROD_HAVE_CUDA
    return cuda::describe_gpus();
#else
    return "";
#endif
}

std::unique_ptr<backend::Backend> make_backend(const DeviceOptions& opt) {
    const Choice c = parse(opt);
    if (c.gpu) {
#ifdef HOTROD_HAVE_CUDA
        std::string why;
        if (cuda::gpu_usable(c.gpu_index, &why)) {
            cuda::CudaOptions co;
            co.device = c.gpu_index;
            co.mem_fraction = opt.gpu_mem_fraction;
            return std::make_unique<cuda::CudaBackend>(co);
        }
        if (c.explicit_gpu) throw DeviceError("--device " + opt.device + ": " + why);
#else
        if (c.explicit_gpu)
            throw DeviceError("--device " + opt.device +
                              ": this hotrod was built without the CUDA backend (no nvcc at build time; see README)");
#endif
    }
    return std::make_unique<cpu::CpuBackend>(opt.n_threads);
}

BackendGroup make_backend_group(const DeviceOptions& opt, int n) {
    BackendGroup g;
    if (n < 1) throw DeviceError("--tensor-parallel " + std::to_string(n) + ": at least 1");
    if (n == 1) {
        g.ranks.push_back(make_backend(opt));
        return g;
    }
    const Choice c = parse(opt);
    bool gpu = c.explicit_gpu;
#ifdef HOTROD_HAVE_CUDA
    std::string why;
    gpu = gpu || (c.gpu && cuda::gpu_usable(c.gpu_index, &why));
#endif
    if (gpu)
        throw DeviceError("--tensor-parallel " + std::to_string(n) +
                          " on the GPU needs NCCL, which this build does not have yet (issue 17); --device cpu runs the "
                          "ranks as threads of this process");
    auto group = std::make_shared<cpu::HostGroup>(n);
    const int total = opt.n_threads > 0 ? opt.n_threads : cpu::default_thread_count();
    for (int r = 0; r < n; ++r) {
        auto be = std::make_unique<cpu::CpuBackend>(std::max(1, total / n));
        be->join_group(group.get(), r);
        g.ranks.push_back(std::move(be));
    }
    g.group = std::move(group);
    return g;
}

const char* device_flags_help() {
    return "--device auto|cpu|cuda|cuda:N (auto: the GPU when present), -ngl N (0 = CPU; any other value = the whole "
           "model on the GPU; partial offload is not supported), --main-gpu N, --gpu-mem-fraction F (default 0.9)";
}

}  // namespace hotrod::device
