#!/usr/bin/env bash
# Call Y5 (carry [".device/g5"]; after calls that brought gpart1..4 to the same warm machine): Gemma 3 270M's real
# file on the GPU for the first time: GpuModel.*Gemma3* (GPU against CPU logits), its perplexity over the fixture text
# on the CPU and on the GPU (issue 19: within 0.1% of each other and 0.5% of llama-perplexity's 15.4268), and its
# tg128 / pp512 beside SmolLM2's.
set -uo pipefail
cd "$(dirname "$0")/../.."
source bench/gpu_calls/call_lib.sh
use_pack
stash_parts
join_gemma
join_smollm2
timeout 120 test_cuda --gtest_filter='GpuModel.*Gemma3*' > $OUT/gemma_tests.txt 2>&1; echo "tests exit $?"
grep -E "cosine|^\[ +(FAILED|PASSED|  SKIPPED) +\]|Failure|actual|skipped" $OUT/gemma_tests.txt | head -20
for dev in cpu cuda; do
  printf '%s: ' "$dev"
  timeout 150 hotrod perplexity -m $gm -f tests/fixtures/perplexity/hotrod-docs.txt -c 512 --device $dev 2>&1 \
    | grep -E "Final estimate|chunks" | tr '\n' ' '
  echo
done | tee $OUT/ppl_gemma.txt
for model in gm m gm m; do
  echo "$model $(timeout 60 hotrod perf -m ${!model} -p 512 -n 128 -r 3 --device cuda 2>&1 | grep -E '^(pp|tg)' | tr '\n' ' ')"
done | tee $OUT/perf_small.txt
