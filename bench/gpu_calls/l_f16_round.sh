#!/usr/bin/env bash
# Calls L and M (session 13): the fp16 prefill's x rounding (round_rows_f16) against HOTROD_CUDA_F16_ROUND=0.
#   L: carry [".device/m1", ".device/pack.tar.xz"]: bash bench/gpu_calls/l_f16_round.sh tests
#   M: carry [".device/m2", ".device/m3"], right after L:         bash bench/gpu_calls/l_f16_round.sh smollm2
set -uo pipefail
cd "$(dirname "$0")/../.."
source bench/gpu_calls/call_lib.sh
case ${1:-tests} in
  tests)
    unpack_pack
    timeout 120 test_cuda --gtest_filter='CudaQuantizeAct*:*Matmul*:CudaFormatsK.*:CudaFusedQuant.*:GpuModel.*-*4B*:*SmolLM2*' \
      > $OUT/t.txt 2>&1; echo "tests exit $?"
    grep -E "^\[ +(FAILED|PASSED) +\]|Failure|Expected|Which is|actual|cosine|sequences:" $OUT/t.txt | head -30
    synth_4b_models
    for sw in X=1 HOTROD_CUDA_F16_ROUND=0; do
      echo "qwen35 [$sw] $(env $sw timeout 60 hotrod perf -m $q35 -p 512 -n 0 -r 3 --device cuda 2>&1 | grep -E '^pp' | tr '\n' ' ')"
    done ;;
  smollm2)
    use_pack
    join_smollm2
    timeout 60 test_cuda --gtest_filter='GpuModel.*SmolLM2*' 2>&1 | grep -E "cosine|sequences:|^\[ +(FAILED|PASSED|OK) +\]|actual"
    for mode in "cuda X=1" "cuda HOTROD_CUDA_F16_ROUND=0" "cpu X=1"; do
      set -- $mode
      printf '%s [%s]: ' $1 $2
      env $2 timeout 60 hotrod perplexity -m $m -f tests/fixtures/perplexity/hotrod-docs.txt -c 512 --device $1 2>&1 | grep -E "Final estimate"
    done ;;
esac
