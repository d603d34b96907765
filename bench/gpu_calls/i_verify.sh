#!/usr/bin/env bash
# Call I (carry [".device/m1", ".device/pack.tar.xz"]; call J follows on the same warm machine): session 13's CUDA
# changes on a GPU. The kernel tests they touch, the GpuModel checks but SmolLM2's (call J) and the 4B ones, then
# each change against its switch in the same run: the prefill attention's position splits
# (HOTROD_CUDA_ATTN_SPLIT=0), the conv1d's batched loads (pp8192 only: no switch, ncu's kernel time beside the
# 227 us measured before), the decode group default (HOTROD_CUDA_DECODE_GROUP=16).
set -uo pipefail
cd "$(dirname "$0")/../.."
source bench/gpu_calls/call_lib.sh
unpack_pack
timeout 150 test_cuda --gtest_filter='CudaAttention*:CudaRecurrent*:CudaDeltaRule*:CudaOps.*:CudaKvStore.*:GpuModel.*-*4B*:*SmolLM2*' \
  > $OUT/tests.txt 2>&1; echo "tests exit $?"
grep -E "^\[ +(FAILED|PASSED) +\]|Failure|Expected|Which is|actual|cosine|sequences:" $OUT/tests.txt | head -40
synth_4b_models
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
