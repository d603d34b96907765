// The HOTROD_CUDA_* environment switches, read in one place. Each turns a faster path off or picks the
// previous variant, so the GPU machine can compare both in one run (bench/gpu_device_run.sh):
// HOTROD_CUDA_GRAPHS=0, HOTROD_CUDA_FUSE=0, HOTROD_CUDA_MMA=0, HOTROD_CUDA_PDL=0, HOTROD_CUDA_DECODE=plain,
// HOTROD_CUDA_DELTA=recurrent.
#pragma once

namespace hotrod::cuda {

// Whether the variable `name` is set to "0".
bool switch_off(const char* name);
// Whether the variable `name` is set to exactly `value`.
bool switch_is(const char* name, const char* value);

}  // namespace hotrod::cuda
