#!/usr/bin/env bash
# Call T (carry [".device/pack.tar.xz", ".device/m1"]; session 15): batch invariance by token kind checked, the
# tensor-core decode kernel and the deeper fp16 prefill pipeline measured. Every CUDA unit test (the SmolLM2 ones
# skip until call W has joined the model), CudaDeltaRule.* three times more (one failed once in session 15's
# first call); bench_cuda_matmul with HOTROD_CUDA_DECODE_MMA=0 / 1 and with HOTROD_CUDA_DECODE_MAX_ROWS=1 (rows
# 2-64 on the prefill kernels: a prompt tail's cost); the synthetic Qwen3-4B's pp512 / tg128 with kinds, with
# HOTROD_CUDA_BATCH_INVARIANT=0 and with HOTROD_CUDA_DECODE_MMA=1, alternating.
set -uo pipefail
cd "$(dirname "$0")/../.."
source bench/gpu_calls/call_lib.sh
unpack_pack
run_cuda_tests '*' 300 tests.txt
timeout 60 test_cuda --gtest_filter='CudaDeltaRule.*' --gtest_repeat=3 2>&1 | grep -E "FAILED|Failure|rel_error|kernel" | head -12
for sw in HOTROD_CUDA_DECODE_MMA=0 HOTROD_CUDA_DECODE_MMA=1 HOTROD_CUDA_DECODE_MAX_ROWS=1; do
  echo "== bench_cuda_matmul, $sw"
  env $sw timeout 60 bench_cuda_matmul Q4_K:9728x2560 Q4_K:2560x9728 Q6_K:2560x9728 2>&1 | grep -E "MB|kernel"
done | tee $OUT/matmul.txt
synth_4b_models
for sw in X=1 HOTROD_CUDA_BATCH_INVARIANT=0 HOTROD_CUDA_DECODE_MMA=1 X=1 HOTROD_CUDA_BATCH_INVARIANT=0 HOTROD_CUDA_DECODE_MMA=1; do
  echo "q3 [$sw] $(env $sw timeout 40 hotrod perf -m $q3 -p 512 -n 128 -r 3 --device cuda 2>&1 | grep -E '^(pp|tg)' | tr '\n' ' ')"
done | tee $OUT/perf.txt
