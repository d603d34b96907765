// The CPU backend as a device backend would be for greedy-only steps: it prefers argmax_rows to the logits rows
// (Backend::prefers_argmax_rows), so the model and the engine take the arg-max path the CUDA backend takes, checked
// here on the CPU against the sampler's pick from the rows.
#pragma once

#include "cpu/cpu_backend.h"

namespace hotrod::test {

struct ArgmaxCpuBackend : cpu::CpuBackend {
    using cpu::CpuBackend::CpuBackend;
    bool prefers_argmax_rows() const override { return true; }
};

}  // namespace hotrod::test
