#!/usr/bin/env bash
# Call G (carry [".device/m1", ".device/pack.tar.xz"]; call H follows it on the same warm machine): unpacks the
# pack, checks the decode default against its switch, then ncu's per-kernel time table (bench/ncu_kernel_table.py)
# of synthetic Qwen3-4B decode steps and Qwen3.5-4B decode and an 8192-token prefill (ubatch 512), the tables
# issue 13 asks for: what eats the gap to the HBM floor, and where pp8192's time goes.
set -uo pipefail
cd "$(dirname "$0")/../.."
rm -rf /tmp/devpack && mkdir -p /tmp/devpack && xz -dc .device/pack.tar.xz | tar -C /tmp/devpack -xf -
source /tmp/devpack/env.sh
export HOTROD_VOCAB_DIR=/tmp/devpack/vocab HOTROD_MODELS=/tmp/hotrod-models
mkdir -p $HOTROD_MODELS && cp .device/m1/part1 $HOTROD_MODELS/part1
nvidia-smi --query-gpu=name --format=csv,noheader
q3=/tmp/hotrod_gpu_synth_qwen3_4b_q4_k_m.gguf q35=/tmp/hotrod_gpu_synth_qwen35_4b_q4_k_m.gguf
[[ -f $q3 ]] || hotrod synth --arch qwen3 --shape 4b --quant q4_k_m --seed 5 --quick-quant \
  --vocab "$HOTROD_VOCAB_DIR/ggml-vocab-qwen2.gguf" -o "$q3" >/dev/null
[[ -f $q35 ]] || hotrod synth --arch qwen35 --shape 4b --quant q4_k_m --seed 5 --quick-quant \
  --vocab "$HOTROD_VOCAB_DIR/ggml-vocab-qwen35.gguf" --chat-template /tmp/devpack/Qwen3.5-4B.jinja -o "$q35" >/dev/null
for sw in X=1 HOTROD_CUDA_DECODE_GROUP=16 X=1; do
  echo "qwen3 4b [$sw] $(env $sw timeout 60 hotrod perf -m $q3 -p 512 -n 128 -r 3 --device cuda 2>&1 | grep -E "^(pp|tg)" | tr '\n' ' ')"
done | tee $OUT/decode_default.txt
NCU=$(command -v ncu || ls /opt/nvidia/nsight-compute/*/ncu 2>/dev/null | head -1)
echo "ncu: $NCU"
prof() {  # name, steps profiled, hotrod perf arguments
  local name=$1 steps=$2; shift 2
  echo "== $name ($(date +%T))"
  timeout 200 $NCU --clock-control none --cache-control none --metrics gpu__time_duration.sum --csv \
    --log-file $OUT/ncu_$name.csv hotrod perf "$@" -r 1 --device cuda > $OUT/ncu_$name.perf.txt 2>&1
  echo "ncu exit $?"
  python3 bench/ncu_kernel_table.py $OUT/ncu_$name.csv --steps $steps --top 28 | tee $OUT/table_$name.txt
}
# -r 1 runs the warm-up pass and one timed pass: steps counted over both.
prof qwen3_4b_decode 64 -m $q3 -p 0 -n 32
prof qwen35_4b_decode 64 -m $q35 -p 0 -n 32
prof qwen35_4b_pp8192 32 -m $q35 -p 8192 -n 0
