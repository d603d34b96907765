// The device flags every model-running command takes (llama-server's names): --device, -ngl, --main-gpu,
// --gpu-mem-fraction, -t. One definition so `serve`, `run`, `chat`, `perf` and `perplexity` agree.
#pragma once

#include <CLI/CLI.hpp>

#include "device/device.h"

namespace hotrod::app {

inline void add_device_flags(CLI::App& app, device::DeviceOptions& d) {
    app.add_option("--device", d.device, "where the model runs: auto (the GPU when present), cpu, cuda, cuda:N")
        ->capture_default_str();
    app.add_option("--n-gpu-layers", d.n_gpu_layers,
                   "(also -ngl) layers on the GPU: 0 = CPU only, any other value = the whole model on the GPU (partial offload "
                   "is not supported)");
    app.add_option("--main-gpu", d.main_gpu, "GPU index used by --device cuda / auto")->capture_default_str();
    app.add_option("--gpu-mem-fraction", d.gpu_mem_fraction,
                   "share of the GPU's memory to use for weights, activations and the KV cache")
        ->capture_default_str();
    app.add_option("-t,--threads", d.n_threads, "CPU threads (0 = all cores)")->capture_default_str();
}

}  // namespace hotrod::app
