#!/usr/bin/env bash
# Call J (right after I, same warm machine; carry [".device/m2"]): SmolLM2's GPU checks with this session's bounds,
# and its perplexity on the CPU and on the GPU in each prefill mode over the whole fixture text (issue 19: GPU and
# CPU within 0.1%).
set -uo pipefail
cd "$(dirname "$0")/../.."
[[ -x /tmp/devpack/bin/test_cuda ]] || { echo "no /tmp/devpack: call I did not run on this machine"; exit 3; }
source /tmp/devpack/env.sh
export HOTROD_VOCAB_DIR=/tmp/devpack/vocab HOTROD_MODELS=/tmp/hotrod-models
m=$HOTROD_MODELS/SmolLM2-135M-Instruct.Q4_1.gguf
[[ -f $m ]] || { cat $HOTROD_MODELS/part1 .device/m2/part2 > $m && rm -f $HOTROD_MODELS/part1; }
timeout 100 test_cuda --gtest_filter='GpuModel.*SmolLM2*' > $OUT/smollm2.txt 2>&1; echo "tests exit $?"
grep -E "cosine|sequences:|^\[ +(FAILED|PASSED) +\]|Failure|actual" $OUT/smollm2.txt | head -20
for mode in "cpu X=1" "cuda X=1" "cuda HOTROD_CUDA_MMA=int8" "cuda HOTROD_CUDA_MMA=0"; do
  set -- $mode
  printf '%s [%s]: ' "$1" "$2"
  env $2 timeout 100 hotrod perplexity -m $m -f tests/fixtures/perplexity/hotrod-docs.txt -c 512 --device $1 2>&1 \
    | grep -E "Final estimate|chunks" | tr '\n' ' '
  echo
done | tee $OUT/ppl.txt
