#!/usr/bin/env bash
# Call I (carry [".device/m1", ".device/pack.tar.xz"]; call J follows on the same warm machine): session 13's CUDA
# changes on a GPU. The kernel tests they touch, the GpuModel checks but SmolLM2's (call J) and the 4B ones, then
# each change against its switch in the same run: the prefill attention's position splits
# (HOTROD_CUDA_ATTN_SPLIT=0), the conv1d's batched loads (pp8192 only: no switch, ncu's kernel time beside the
# 227 us measured before), the decode group default (HOTROD_CUDA_DECODE_GROUP=16).
set -uo pipefail
cd "$(dirname "$0")/../.."
rm -rf /tmp/devpack && mkdir -p /tmp/devpack && xz -dc .device/pack.tar.xz | tar -C /tmp/devpack -xf -
source /tmp/devpack/env.sh
export HOTROD_VOCAB_DIR=/tmp/devpack/vocab HOTROD_MODELS=/tmp/hotrod-models
mkdir -p $HOTROD_MODELS && cp .device/m1/part1 $HOTROD_MODELS/part1
nvidia-smi --query-gpu=name --format=csv,noheader
timeout 150 test_cuda --gtest_filter='CudaAttention*:CudaRecurrent*:CudaDeltaRule*:CudaOps.*:CudaKvStore.*:GpuModel.*-*4B*:*SmolLM2*' \
  > $OUT/tests.txt 2>&1; echo "tests exit $?"
grep -E "^\[ +(FAILED|PASSED) +\]|Failure|Expected|Which is|actual|cosine|sequences:" $OUT/tests.txt | head -40
q3=/tmp/hotrod_gpu_synth_qwen3_4b_q4_k_m.gguf q35=/tmp/hotrod_gpu_synth_qwen35_4b_q4_k_m.gguf
hotrod synth --arch qwen3 --shape 4b --quant q4_k_m --seed 5 --quick-quant \
  --vocab "$HOTROD_VOCAB_DIR/ggml-vocab-qwen2.gguf" -o "$q3" >/dev/null
hotrod synth --arch qwen35 --shape 4b --quant q4_k_m --seed 5 --quick-quant \
  --vocab "$HOTROD_VOCAB_DIR/ggml-vocab-qwen35.gguf" --chat-template /tmp/devpack/Qwen3.5-4B.jinja -o "$q35" >/dev/null
{
for sw in X=1 HOTROD_CUDA_ATTN_SPLIT=0 X=1; do
  echo "qwen35 4b [$sw] $(env $sw timeout 60 hotrod perf -m $q35 -p 8192 -n 0 -r 3 --device cuda 2>&1 | grep -E "^pp" | tr '\n' ' ')"
done
echo "qwen35 4b [X=1] $(timeout 60 hotrod perf -m $q35 -p 512 -n 128 -r 3 --device cuda 2>&1 | grep -E "^(pp|tg)" | tr '\n' ' ')"
for sw in X=1 HOTROD_CUDA_DECODE_GROUP=16 X=1; do
  echo "qwen3 4b [$sw] $(env $sw timeout 60 hotrod perf -m $q3 -p 512 -n 128 -r 3 --device cuda 2>&1 | grep -E "^(pp|tg)" | tr '\n' ' ')"
done
} | tee $OUT/perf.txt
NCU=$(command -v ncu || ls /opt/nvidia/nsight-compute/*/ncu 2>/dev/null | head -1)
timeout 150 $NCU --clock-control none --cache-control none --metrics gpu__time_duration.sum --csv \
  -k 'regex:conv1d|attn::.*prefill_mma|combine' --log-file $OUT/ncu_pp8192.csv \
  hotrod perf -m $q35 -p 8192 -n 0 -r 1 --device cuda > /dev/null 2>&1; echo "ncu exit $?"
python3 bench/ncu_kernel_table.py $OUT/ncu_pp8192.csv --steps 32 --top 12
