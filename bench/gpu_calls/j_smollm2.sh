#!/usr/bin/env bash
# Call J (right after I, same warm machine; carry [".device/m2", ".device/m3"]): SmolLM2's GPU checks with this session's bounds,
# and its perplexity on the CPU and on the GPU in each prefill mode over the whole fixture text (issue 19: GPU and
# CPU within 0.1%).
set -uo pipefail
cd "$(dirname "$0")/../.."
source bench/gpu_calls/call_lib.sh
use_pack
join_smollm2
timeout 100 test_cuda --gtest_filter='GpuModel.*SmolLM2*' > $OUT/smollm2.txt 2>&1; echo "tests exit $?"
grep -E "cosine|sequences:|^\[ +(FAILED|PASSED) +\]|Failure|actual" $OUT/smollm2.txt | head -20
for mode in "cpu X=1" "cuda X=1" "cuda HOTROD_CUDA_MMA=int8" "cuda HOTROD_CUDA_MMA=0"; do
  set -- $mode
  printf '%s [%s]: ' "$1" "$2"
  env $2 timeout 100 hotrod perplexity -m $m -f tests/fixtures/perplexity/hotrod-docs.txt -c 512 --device $1 2>&1 \
    | grep -E "Final estimate|chunks" | tr '\n' ' '
  echo
done | tee $OUT/ppl.txt
