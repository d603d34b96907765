#!/usr/bin/env bash
# Call Z2 (after Z1 on the same warm machine: /tmp/devpack and /tmp/llama-server; carry nothing): the published
# benchmark's model shape, synthetic Qwen3.5-4B Q4_K_M, beside llama-server: gpu_device_run.sh's qwen35 stage
# (hotrod perf pp512 / tg128 and pp8192, the hybrid prefix cache's time to first token, the peer's pp / tg and
# pp8192 from its timings, the workload at 1 / 2 / 4 / 8 in flight).
set -uo pipefail
cd "$(dirname "$0")/../.."
source bench/gpu_calls/call_lib.sh
use_pack
[[ -x /tmp/llama-server ]] || { echo "no /tmp/llama-server: call Z1 did not run on this machine"; exit 3; }
export HOTROD_DEVPACK=/tmp/devpack
timeout 560 bash bench/gpu_device_run.sh qwen35 2>&1 | grep -vE "^\s*$" | tail -60
