#!/usr/bin/env bash
# The GPU tests, for a machine with an NVIDIA GPU: the CUDA kernels against their CPU scalar references and the
# whole model on the GPU against the CPU backend (the test_cuda binary), then the end-to-end suite against a
# GPU-backed `hotrod serve`. Run it after `bash scripts/test.sh` has built everything (on a machine with nvcc).
#   HOTROD_BUILD_DIR   where bin/hotrod is (default build/)
#   HOTROD_TEST_CUDA   the test_cuda binary (default $HOTROD_BUILD_DIR/tests/unit/cuda/test_cuda)
#   HOTROD_PYTHON      python with the e2e packages (default .venv/bin/python)
#   HOTROD_GPU_E2E=0   skip the end-to-end suite
#   HOTROD_PYTEST_ARGS more pytest arguments (e.g. -rP: the printed figures of passed tests, the soak's RSS)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${HOTROD_BUILD_DIR:-$root/build}
test_cuda=${HOTROD_TEST_CUDA:-$build/tests/unit/cuda/test_cuda}
python=${HOTROD_PYTHON:-$root/.venv/bin/python}
export HOTROD_BUILD_DIR=$build HOTROD_VOCAB_DIR=${HOTROD_VOCAB_DIR:-$root/../shared/vocab}

if ! nvidia-smi -L >/dev/null 2>&1; then echo "test-gpu: no NVIDIA GPU here (nvidia-smi -L failed)" >&2; exit 1; fi
nvidia-smi -L
[[ -x $test_cuda ]] || { echo "test-gpu: $test_cuda missing: build with nvcc present (bash scripts/test.sh)" >&2; exit 1; }

echo "== CUDA unit tests ($test_cuda)"
"$test_cuda" ${HOTROD_GTEST_FILTER:+--gtest_filter=$HOTROD_GTEST_FILTER}

if [[ ${HOTROD_GPU_E2E:-1} == 1 ]]; then
  echo "== end-to-end suite against hotrod serve --device cuda"
  HOTROD_E2E_DEVICE=cuda "$python" -m pytest -q -p no:cacheprovider ${HOTROD_PYTEST_ARGS:-} "$root/tests/e2e"
fi
echo "test-gpu: all GPU tests passed"
