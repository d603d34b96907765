#!/usr/bin/env bash
# Call C (after A, same warm machine, the pack already unpacked): the attention-input fusion's effect
# on decode (synthetic Qwen3-4B and Qwen3.5-4B, SmolLM2 when joined), and Qwen3.5's pp8192 with the head_dim-256
# tensor-core attention and the chunked delta rule.
set -uo pipefail
cd "$(dirname "$0")/../.."
[[ -x /tmp/devpack/bin/hotrod ]] || { echo "no /tmp/devpack: call A did not run on this machine"; exit 3; }
source /tmp/devpack/env.sh
export HOTROD_VOCAB_DIR=/tmp/devpack/vocab HOTROD_MODELS=/tmp/hotrod-models
log() { printf '== %s (%s)\n' "$*" "$(date +%T)"; }
q35=/tmp/hotrod_gpu_synth_qwen35_4b_q4_k_m.gguf
[[ -f $q35 ]] || hotrod synth --arch qwen35 --shape 4b --quant q4_k_m --seed 5 --quick-quant \
  --vocab "$HOTROD_VOCAB_DIR/ggml-vocab-qwen35.gguf" --chat-template /tmp/devpack/Qwen3.5-4B.jinja -o "$q35" >/dev/null
for sw in X=1 HOTROD_CUDA_FUSE_ATTN=0; do
  log "qwen35 $sw"
  env $sw timeout 100 hotrod perf -m $q35 -p 512 -n 128 -r 3 --device cuda 2>&1 | grep -E "^(pp|tg)"
done
for sw in X=1 HOTROD_CUDA_MMA=0 HOTROD_CUDA_DELTA=recurrent; do
  log "qwen35 pp8192 $sw"
  env $sw timeout 100 hotrod perf -m $q35 -p 8192 -n 0 -r 1 --ubatch-size 512 --device cuda 2>&1 | grep -E "^pp"
done
PERF_SWITCHES="HOTROD_CUDA_FUSE_ATTN=0" HOTROD_DEVPACK=/tmp/devpack timeout 240 bash bench/gpu_device_run.sh perf > $OUT/perf.txt 2>&1
grep -E "^pp|^tg|==|bandwidth|FUSE" $OUT/perf.txt | head -30
