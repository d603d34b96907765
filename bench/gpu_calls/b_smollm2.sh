#!/usr/bin/env bash
# Call B (right after A, same warm machine): joins SmolLM2, then the bisect stage and the
# whole-model tests but the 4B ones.
set -uo pipefail
cd "$(dirname "$0")/../.."
[[ -x /tmp/devpack/bin/test_cuda ]] || { echo "no /tmp/devpack: call A did not run on this machine"; exit 3; }
source /tmp/devpack/env.sh
export HOTROD_VOCAB_DIR=/tmp/devpack/vocab HOTROD_MODELS=/tmp/hotrod-models
m=$HOTROD_MODELS/SmolLM2-135M-Instruct.Q4_1.gguf
[[ -f $m ]] || { cat $HOTROD_MODELS/part1 .device/m2/part2 > $m && rm -f $HOTROD_MODELS/part1; }
ls -la $m
timeout 200 test_cuda --gtest_filter='GpuModel.*-*4B*' > $OUT/models.txt 2>&1; echo "exit $?"
grep -E "cosine|sequences|^\[ +(FAILED|PASSED) +\]|Failure" $OUT/models.txt | head -30
echo "== trace: batched vs alone, SmolLM2's first failing row"
timeout 90 test_cuda --gtest_also_run_disabled_tests --gtest_filter='GpuModel.DISABLED_Trace*' 2>&1 | grep -E "^  |FAILED|OK \]" | head -50
HOTROD_DEVPACK=/tmp/devpack timeout 300 bash bench/gpu_device_run.sh bisect
