#!/usr/bin/env bash
# Call Z2 (after Z1 on the same warm machine: /tmp/devpack and /tmp/llama-server; carry nothing): the published
# benchmark's model shape, synthetic Qwen3.5-4B Q4_K_M, beside llama-server: `hotrod perf` pp512 / tg128 and pp8192
# (ubatch 512 and 2048), the peer's pp / tg and pp8192 from its timings, the hybrid prefix cache's time to first
# token (bench/hybrid_prefix_ttft.py; snapshots now at multiples of 64), and the workload at 1 / 2 / 4 / 8 in
# flight on hotrod, hotrod with HOTROD_CUDA_DECODE_MMA=1 and llama-server.
set -uo pipefail
cd "$(dirname "$0")/../.."
source bench/gpu_calls/call_lib.sh
use_pack
[[ -x /tmp/llama-server ]] || { echo "no /tmp/llama-server: call Z1 did not run on this machine"; exit 3; }
export HOTROD_DEVPACK=/tmp/devpack
synth_4b_models
for sw in X=1 HOTROD_CUDA_DECODE_MMA=1; do
  echo "q35 [$sw] $(env $sw timeout 40 hotrod perf -m $q35 -p 512 -n 128 -r 3 --device cuda 2>&1 | grep -E '^(pp|tg)' | tr '\n' ' ')"
done | tee $OUT/perf35.txt
for ub in 512 2048; do
  echo "q35 pp8192 ubatch $ub: $(timeout 60 hotrod perf -m $q35 -p 8192 -n 0 -r 2 --ubatch-size $ub --device cuda 2>&1 | grep -E '^pp')"
done | tee -a $OUT/perf35.txt
timeout 120 python3 bench/hybrid_prefix_ttft.py $q35 --hotrod "$(command -v hotrod)" --extra "--device cuda" 2>&1 | tail -8
PP_LONG=8192 PEER_RAW_ONLY=1 timeout 150 bash bench/gpu_vs_llama_server.sh $q35 $OUT 2>&1 | tail -5
workload_beside_peer $q35 q35 300
