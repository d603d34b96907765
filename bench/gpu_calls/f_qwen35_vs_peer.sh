#!/usr/bin/env bash
# Call F (after E on the same warm machine): the published benchmark's model shape, synthetic Qwen3.5-4B Q4_K_M,
# beside llama.cpp: llama-bench pp512 / tg128 and pp8192, then gpu_device_run.sh's qwen35 stage (hotrod perf,
# pp8192, the hybrid prefix cache's TTFT, llama-server beside it). Carry nothing.
set -uo pipefail
cd "$(dirname "$0")/../.."
source bench/gpu_calls/warm_env.sh
q35=/tmp/hotrod_gpu_synth_qwen35_4b_q4_k_m.gguf
[[ -f $q35 ]] || hotrod synth --arch qwen35 --shape 4b --quant q4_k_m --seed 5 --quick-quant \
  --vocab "$HOTROD_VOCAB_DIR/ggml-vocab-qwen35.gguf" --chat-template /tmp/devpack/Qwen3.5-4B.jinja -o "$q35" >/dev/null
echo "== llama-bench qwen35 ($(date +%T))"
timeout 150 /tmp/llama-bench -m "$q35" -ngl 99 -p 512,8192 -n 128 -r 2 -ub 512 2>&1 | grep -E "^\|" | tee $OUT/llama-bench-qwen35.txt
timeout 400 bash bench/gpu_device_run.sh qwen35 2>&1 | grep -vE "^\s*$" | tail -40
