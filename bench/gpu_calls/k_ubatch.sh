#!/usr/bin/env bash
# Call K (carry [".device/m1", ".device/pack.tar.xz"]): Qwen3.5-4B pp8192 at ubatch 512 and 2048, pp512 / tg128.
set -uo pipefail
cd "$(dirname "$0")/../.."
source bench/gpu_calls/call_lib.sh
unpack_pack
synth_4b_models
for u in 512 2048; do
  echo "qwen35 ubatch $u $(timeout 60 hotrod perf -m $q35 -p 8192 -n 0 -r 3 --ubatch-size $u --device cuda 2>&1 | grep -E '^pp' | tr '\n' ' ')"
done
echo "qwen35 $(timeout 60 hotrod perf -m $q35 -p 512 -n 128 -r 3 --device cuda 2>&1 | grep -E '^(pp|tg)' | tr '\n' ' ')"
