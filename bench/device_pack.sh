#!/usr/bin/env bash
# Packs what a run on the lent GPU machine needs (docs/DEVELOPERS.md) into one archive, .device/pack.tar.xz:
# the CUDA build's hotrod, test_cuda and (when built) bench_cuda_matmul with their shared libraries
# (../shared/tools/device-pack), the Qwen2, Qwen3.5 and llama-spm vocabularies the synthetic models use, Qwen3.5's template,
# the published workload and env.sh. xz keeps it near 20 MB, so a
# run can carry it beside a model part or the llama-server peer (64 MiB travel at most); bench/gpu_device_run.sh
# unpacks it. Usage: [EXTRA_BINS="..."] bash bench/device_pack.sh [BUILD_DIR]   (default build-cuda)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
build=${1:-build-cuda}
rm -rf .device/bin .device/lib
bins=("$build/bin/hotrod" "$build/tests/unit/cuda/test_cuda")
[[ -x $build/bin/bench_cuda_matmul ]] && bins+=("$build/bin/bench_cuda_matmul")  # HOTROD_BUILD_BENCH=ON builds it
# EXTRA_BINS="a b": more executables (e.g. a branch's test_cuda copied under another name, to run beside main's).
read -r -a extra <<<"${EXTRA_BINS:-}"
bins+=("${extra[@]}")
../shared/tools/device-pack "${bins[@]}" | tail -1
# Symbol tables are not needed to run (the GPU machine has no debugger session to give them to): ~1 MB of xz less,
# which the 64 MiB a run carries beside the 42 MB peer needs.
strip --strip-unneeded .device/bin/*
mkdir -p .device/vocab
cp ../shared/vocab/ggml-vocab-qwen2.gguf ../shared/vocab/ggml-vocab-qwen35.gguf ../shared/vocab/ggml-vocab-llama-spm.gguf .device/vocab/
install -m 644 ../shared/workloads/phase_classification.json .device/workload.json
install -m 644 ../shared/templates/Qwen3.5-4B.jinja .device/Qwen3.5-4B.jinja
tar -C .device -cf - bin lib vocab env.sh workload.json Qwen3.5-4B.jinja | xz -T2 -9e > .device/pack.tar.xz
ls -la .device/pack.tar.xz
