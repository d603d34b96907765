#!/usr/bin/env bash
# Call E (right after A and D on the same warm machine: /tmp/devpack and /tmp/llama-{server,bench}): hotrod beside
# llama.cpp on the same card in one run. llama-bench pp512 / tg128 against `hotrod perf` on the synthetic Qwen3-4B
# Q4_K_M and SmolLM2 (when call B joined it), then the server comparison and the published workload
# (gpu_vs_llama_server.sh). Carry nothing.
set -uo pipefail
cd "$(dirname "$0")/../.."
source bench/gpu_calls/warm_env.sh
PERF_SWITCHES=0 timeout 200 bash bench/gpu_device_run.sh perf 2>&1 | grep -E "^(pp|tg)|==|bandwidth|H100|H200"
for m in /tmp/hotrod_gpu_synth_qwen3_4b_q4_k_m.gguf /tmp/hotrod-models/SmolLM2-135M-Instruct.Q4_1.gguf; do
  [[ -f $m ]] || continue
  echo "== llama-bench $(basename $m) ($(date +%T))"
  timeout 120 /tmp/llama-bench -m "$m" -ngl 99 -p 512 -n 128 -r 3 2>&1 | grep -E "^\|" | tee -a $OUT/llama-bench.txt
done
# This session's decode changes, each switched off alone (same binary, same card): the residual add in the decode
# matmul's epilogue, and 16 lanes a K super-block at one token row.
for m in /tmp/hotrod_gpu_synth_qwen3_4b_q4_k_m.gguf /tmp/hotrod-models/SmolLM2-135M-Instruct.Q4_1.gguf; do
  [[ -f $m ]] || continue
  for sw in X=1 HOTROD_CUDA_FUSE_RESIDUAL=0 HOTROD_CUDA_DECODE_GROUP=4; do
    echo "== $(basename $m) $sw: $(env $sw timeout 60 hotrod perf -m "$m" -p 8 -n 128 -r 3 --device cuda 2>&1 | grep -E "^tg")"
  done
done
timeout 300 bash bench/gpu_device_run.sh peer 2>&1 | tail -40
