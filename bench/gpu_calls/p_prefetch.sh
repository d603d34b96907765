#!/usr/bin/env bash
# Call P (after O on the same machine, or in the same command: it uses O's unpacked pack; carry nothing more):
# the decode matmuls ask L2 for their weight rows, the decode attention for its span's K/V rows, before the grid
# dependency wait (HOTROD_CUDA_PREFETCH=0 waits first), and the decode attention's 16-byte V loads
# (HOTROD_CUDA_ATTN_VEC=0: an element a lane), and the Q4_K decode kernel a 32-byte chunk a lane
# (HOTROD_CUDA_DECODE_Q4K=0: the general one), the attention output quantized by the attention kernels
# (HOTROD_CUDA_FUSE_ATTN_QUANT=0: its own launch). The matmul and attention tests (the kernels' code moved),
# then decode speed with it on and off, alternating, on both
# synthetic 4B models, and the kernel alone (bench_cuda_matmul: back-to-back matmuls, where it should not matter).
set -uo pipefail
cd "$(dirname "$0")/../.."
source bench/gpu_calls/call_lib.sh
use_pack
if [[ ${SKIP_TESTS:-0} != 1 ]]; then  # call Q ran them
  run_cuda_tests '*CudaMatmul*:CudaAttention*' 300 matmul_tests.txt
fi
synth_4b_models
{
for m in q3:$q3 q35:$q35; do
  for sw in X=1 HOTROD_CUDA_PREFETCH=0 HOTROD_CUDA_ATTN_VEC=0 HOTROD_CUDA_DECODE_Q4K=0 HOTROD_CUDA_FUSE_ATTN_QUANT=0 X=1 HOTROD_CUDA_PREFETCH=0 HOTROD_CUDA_ATTN_VEC=0 HOTROD_CUDA_DECODE_Q4K=0 HOTROD_CUDA_FUSE_ATTN_QUANT=0; do
    echo "${m%%:*} [$sw] $(env $sw timeout 60 hotrod perf -m ${m#*:} -p 512 -n 128 -r 3 --device cuda 2>&1 | grep -E "^(pp|tg)" | tr '\n' ' ')"
  done
done
} | tee $OUT/perf.txt
for sw in X=1 HOTROD_CUDA_DECODE_Q4K=0 HOTROD_CUDA_PREFETCH=0; do
  echo "== bench_cuda_matmul [$sw]"
  env $sw timeout 60 bench_cuda_matmul Q4_K:9728x2560 Q4_K:2560x9728 Q4_K:4096x2560 2>&1 | grep -E "copy|rows +(1|2|4) +kernel|MB"
done | tee $OUT/matmul_bench.txt
