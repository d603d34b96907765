#!/usr/bin/env bash
# Call C (after A, and B for SmolLM2, on the same warm machine; no peer needed): decode speed with each of session
# 11's decode changes switched off alone, then both (same binary, same card): the residual add in the decode
# matmul's epilogue (HOTROD_CUDA_FUSE_RESIDUAL=0) and 16 lanes a K super-block at one token row
# (HOTROD_CUDA_DECODE_GROUP=4). Synthetic Qwen3-4B Q4_K_M (written here) and SmolLM2 when B joined it. Carry nothing.
set -uo pipefail
cd "$(dirname "$0")/../.."
[[ -x /tmp/devpack/bin/hotrod ]] || { echo "no /tmp/devpack: call A did not run on this machine"; exit 3; }
source /tmp/devpack/env.sh
export HOTROD_VOCAB_DIR=/tmp/devpack/vocab HOTROD_MODELS=/tmp/hotrod-models
synth=/tmp/hotrod_gpu_synth_qwen3_4b_q4_k_m.gguf
[[ -f $synth ]] || hotrod synth --arch qwen3 --shape 4b --quant q4_k_m --seed 5 --quick-quant \
  --vocab "$HOTROD_VOCAB_DIR/ggml-vocab-qwen2.gguf" -o "$synth" >/dev/null
nvidia-smi --query-gpu=name --format=csv,noheader
for m in $synth $HOTROD_MODELS/SmolLM2-135M-Instruct.Q4_1.gguf; do
  [[ -f $m ]] || continue
  for sw in X=1 HOTROD_CUDA_FUSE_RESIDUAL=0 HOTROD_CUDA_DECODE_GROUP=4 "HOTROD_CUDA_FUSE_RESIDUAL=0 HOTROD_CUDA_DECODE_GROUP=4" X=1; do
    echo "$(basename $m) [$sw] $(env $sw timeout 60 hotrod perf -m "$m" -p 512 -n 128 -r 3 --device cuda 2>&1 | grep -E "^(pp|tg)" | tr '\n' ' ')"
  done
done | tee $OUT/decode_switches.txt
