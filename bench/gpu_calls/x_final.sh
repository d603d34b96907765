#!/usr/bin/env bash
# Call X (carry [".device/pack.tar.xz", ".device/m1"]; session 15's last build): every CUDA unit test (SmolLM2's
# skip until call W), among them the fixed GpuModel.KindsMakeBatchedBitEqualToAlone* and DecodeMma at 4 and 8 warps;
# bench_cuda_matmul with HOTROD_CUDA_DECODE_MAX_ROWS=1 (rows 2-16 on the fp16 prefill: the padding rows no longer
# read) and by default (the tensor-core decode on the 9728-row matrices); the synthetic Qwen3-4B's pp512 / tg128
# by default and with HOTROD_CUDA_DECODE_MMA=0, alternating. Then calls U (workload), N (e2e), W (SmolLM2 tests).
set -uo pipefail
cd "$(dirname "$0")/../.."
source bench/gpu_calls/call_lib.sh
unpack_pack
run_cuda_tests '*' 300 tests.txt
for sw in X=1 HOTROD_CUDA_DECODE_MAX_ROWS=1; do
  echo "== bench_cuda_matmul, $sw"
  env $sw timeout 60 bench_cuda_matmul Q4_K:9728x2560 Q4_K:2560x9728 2>&1 | grep -E "MB|kernel"
done | tee $OUT/matmul.txt
synth_4b_models
for sw in X=1 HOTROD_CUDA_DECODE_MMA=0 X=1 HOTROD_CUDA_DECODE_MMA=0; do
  echo "q3 [$sw] $(env $sw timeout 40 hotrod perf -m $q3 -p 512 -n 128 -r 3 --device cuda 2>&1 | grep -E '^(pp|tg)' | tr '\n' ' ')"
done | tee $OUT/perf.txt
