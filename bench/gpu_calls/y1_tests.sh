#!/usr/bin/env bash
# Call Y1 (session 16's first; carry [".device/pack.tar.xz", ".device/m1"]): every CUDA unit test (the real models'
# skip until their parts have come), among them GpuModel.GraphReplayEqualsEagerLaunch (block tables no longer a launch
# argument: fewer captures) and the delta rule tests 8 times over (the 1-in-4 flake of session 15 was the test's
# poison racing the backend's stream); bench_cuda_matmul; the synthetic Qwen3-4B and Qwen3.5-4B pp512 / tg128 with
# the tensor-core decode off (default) and on (HOTROD_CUDA_DECODE_MMA=1), alternating. Then U [m2, .whl], N [m3, g1],
# J [g2], Y3 [g3], Y4 [g4], Y5 [g5].
set -uo pipefail
cd "$(dirname "$0")/../.."
source bench/gpu_calls/call_lib.sh
unpack_pack
run_cuda_tests '*' 300 tests.txt
grep -E "graphs:" $OUT/tests.txt
timeout 120 test_cuda --gtest_filter='CudaDeltaRule.*:CudaRecurrent*' --gtest_repeat=8 > $OUT/delta_repeat.txt 2>&1
echo "delta rule x8: exit $? $(grep -c '^\[  FAILED' $OUT/delta_repeat.txt) failed lines"
timeout 60 bench_cuda_matmul Q4_K:9728x2560 Q6_K:151936x2560 2>&1 | grep -E "MB|kernel" | tee $OUT/matmul.txt
synth_4b_models
for model in q3 q35; do
  for sw in X=1 HOTROD_CUDA_DECODE_MMA=1 X=1 HOTROD_CUDA_DECODE_MMA=1; do
    echo "$model [$sw] $(env $sw timeout 40 hotrod perf -m ${!model} -p 512 -n 128 -r 3 --device cuda 2>&1 | grep -E '^(pp|tg)' | tr '\n' ' ')"
  done
done | tee $OUT/perf.txt
