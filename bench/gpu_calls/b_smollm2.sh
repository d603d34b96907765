#!/usr/bin/env bash
# Call B (right after A, same warm machine; carry [".device/m2", ".device/m3"]): joins SmolLM2, then the bisect stage and the
# whole-model tests but the 4B ones.
set -uo pipefail
cd "$(dirname "$0")/../.."
source bench/gpu_calls/call_lib.sh
use_pack
join_smollm2
ls -la $m
timeout 200 test_cuda --gtest_filter='GpuModel.*-*4B*' > $OUT/models.txt 2>&1; echo "exit $?"
grep -E "cosine|sequences|^\[ +(FAILED|PASSED) +\]|Failure" $OUT/models.txt | head -30
echo "== trace: batched vs alone, SmolLM2's first failing row"
timeout 90 test_cuda --gtest_also_run_disabled_tests --gtest_filter='GpuModel.DISABLED_Trace*' 2>&1 | grep -E "^  |FAILED|OK \]" | head -50
HOTROD_DEVPACK=/tmp/devpack timeout 300 bash bench/gpu_device_run.sh bisect
