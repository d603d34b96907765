// How every kernel is launched, and the first thing every kernel does: programmatic dependent launch (Hopper,
// compute 9.0+). A decode step is ~20 small kernels a layer, and between two of them the GPU otherwise drains
// the first grid, then starts scheduling the second: microseconds a kernel that no work fills. Launched with
// the programmatic-serialization attribute, a kernel may be scheduled while the previous one still runs; its
// blocks then wait at grid_dependency_sync() (griddepcontrol.wait) until the previous grid has completed and
// its memory is visible, so the data a kernel reads is exactly what it was without the attribute. Each kernel
// lets its successor be scheduled (launch_dependents) right after its own wait: by then all of its blocks are
// resident, so the successor's waiting blocks take no slot a block of this grid still needs. Stream capture
// turns the attribute into programmatic edges of the step's CUDA graph. Older GPUs, and HOTROD_CUDA_PDL=0,
// launch plainly (the wait is then a no-op).
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>
#include <utility>

#include "cuda/check.h"

namespace hotrod::cuda {

// The first statement of every kernel (see above), or preceded only by prefetch_l2_warp of data no kernel writes.
__device__ __forceinline__ void grid_dependency_sync() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
    asm volatile("griddepcontrol.wait;\n" ::: "memory");
    asm volatile("griddepcontrol.launch_dependents;\n" :::);
#endif
}

// Asks L2 for the bytes [p, p + bytes) ahead of their use, a warp's lanes taking one 128-byte line each in turn (a
// hint: nothing reaches registers, nothing can fault). Meant for data no earlier kernel of the step writes (the
// weights): issued before grid_dependency_sync(), the reads overlap the predecessor's last microseconds, which
// leave the memory bus idle (a norm or a quantization of a few KB), instead of starting after it.
__device__ __forceinline__ void prefetch_l2_warp(const void* p, size_t bytes, int lane) {
    if (bytes == 0) return;
    const uintptr_t first = reinterpret_cast<uintptr_t>(p) & ~uintptr_t(127);
    const uintptr_t end = reinterpret_cast<uintptr_t>(p) + bytes;
    for (uintptr_t a = first + uintptr_t(lane) * 128; a < end; a += 32 * 128)
        asm volatile("prefetch.global.L2 [%0];" ::"l"(a));
}

// Whether launches carry the attribute: the current device is compute 9.0+ and HOTROD_CUDA_PDL is not 0.
bool dependent_launch_enabled();

// Whether kernels ask L2 for data no kernel of the step writes (weights, past K/V rows) before their
// grid_dependency_sync(): only with HOTROD_CUDA_PREFETCH=1. Measured slower on an H100 (2026-12-07, same call:
// synthetic Qwen3-4B tg128 352 / 352 with it against 357 / 365 without; Qwen3.5-4B 329 / 325 against 347 / 347):
// the early blocks' requests compete with the previous kernel's own reads rather than fill an idle bus.
bool prefetch_before_wait();

// The current device's SM count, read once (hotrod drives one GPU a process), for kernels that size their grids
// to the card.
int sm_count();

// kernel<<<grid, block, smem, stream>>>(args...), checked, as a programmatic dependent launch where enabled; with
// cluster_z > 1, the blocks z = 0 .. cluster_z - 1 of each (x, y) form a thread block cluster (compute 9.0+ only:
// callers check clusters_available()).
template <class... Params, class... Args>
void launch_kernel_clusters(void (*kernel)(Params...), dim3 grid, dim3 block, size_t smem, cudaStream_t stream,
                            unsigned cluster_z, Args&&... args) {
    cudaLaunchAttribute attr[2];
    unsigned n = 0;
    if (dependent_launch_enabled()) {
        attr[n].id = cudaLaunchAttributeProgrammaticStreamSerialization;
        attr[n].val.programmaticStreamSerializationAllowed = 1;
        ++n;
    }
    if (cluster_z > 1) {
        attr[n].id = cudaLaunchAttributeClusterDimension;
        attr[n].val.clusterDim.x = 1;
        attr[n].val.clusterDim.y = 1;
        attr[n].val.clusterDim.z = cluster_z;
        ++n;
    }
    cudaLaunchConfig_t cfg{};
    cfg.gridDim = grid;
    cfg.blockDim = block;
    cfg.dynamicSmemBytes = smem;
    cfg.stream = stream;
    cfg.attrs = attr;
    cfg.numAttrs = n;
    HOTROD_CUDA_CHECK(cudaLaunchKernelEx(&cfg, kernel, std::forward<Args>(args)...));
}

template <class... Params, class... Args>
void launch_kernel(void (*kernel)(Params...), dim3 grid, dim3 block, size_t smem, cudaStream_t stream,
                   Args&&... args) {
    launch_kernel_clusters(kernel, grid, block, smem, stream, 1u, std::forward<Args>(args)...);
}

// Whether the current device runs thread block clusters (compute 9.0+).
bool clusters_available();

}  // namespace hotrod::cuda
