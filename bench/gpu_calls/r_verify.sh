#!/usr/bin/env bash
# Call R (carry [".device/pack.tar.xz"]): session 14's last CUDA change checked (the filter needs the leading *:
# the typed matmul tests are AllTypes/CudaMatmulType.*, which call Q's 'CudaMatmul*' missed): the Q4_K chunk kernel at one token
# row only, bit for bit the general kernel's rows (CudaMatmulType.DecodeRowIndependentOfRowCount and the matmul
# tests), then the synthetic Qwen3-4B's pp512 / tg128 with it and with HOTROD_CUDA_DECODE_Q4K=0, alternating.
set -uo pipefail
cd "$(dirname "$0")/../.."
source bench/gpu_calls/call_lib.sh
unpack_pack
run_cuda_tests '*CudaMatmul*' 300 tests.txt
synth_4b_models
for sw in X=1 HOTROD_CUDA_DECODE_Q4K=0 X=1 HOTROD_CUDA_DECODE_Q4K=0; do
  echo "q3 [$sw] $(env $sw timeout 40 hotrod perf -m $q3 -p 512 -n 128 -r 3 --device cuda 2>&1 | grep -E '^(pp|tg)' | tr '\n' ' ')"
done | tee $OUT/perf.txt
