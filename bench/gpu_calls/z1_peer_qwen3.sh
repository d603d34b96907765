#!/usr/bin/env bash
# Call Z1 (carry [".device/pack.tar.xz", ".device/peers/llama-server-cuda-sm90a.xz"]: 14.6 + 42 MB beside the tree,
# just under the 64 MiB; a fresh or warm machine): hotrod beside llama.cpp's llama-server (CUDA sm_90a, built here by
# ../shared/peers/build-llama-cuda.sh) on the synthetic Qwen3-4B Q4_K_M, one after the other on the same card: the
# copy bandwidth, `hotrod perf` pp512 / tg128, then gpu_device_run.sh's peer stage (the peer's pp / tg from its
# /completion timings, and the published workload at 1 / 2 / 4 / 8 in flight, `hotrod bench --fixed-length`).
# Leaves /tmp/llama-server for call Z2.
set -uo pipefail
cd "$(dirname "$0")/../.."
source bench/gpu_calls/call_lib.sh
unpack_pack
export HOTROD_DEVPACK=/tmp/devpack
xz -dc .device/peers/llama-server-cuda-sm90a.xz > /tmp/llama-server && chmod +x /tmp/llama-server
PERF_SWITCHES=0 timeout 200 bash bench/gpu_device_run.sh perf 2>&1 | grep -E "^(pp|tg)|==|bandwidth|H100|H200"
timeout 360 bash bench/gpu_device_run.sh peer 2>&1 | grep -vE "^\s*$" | tail -45
