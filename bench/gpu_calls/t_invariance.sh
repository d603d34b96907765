#!/usr/bin/env bash
# Call T (carry [".device/pack.tar.xz", ".device/m1"]; session 15): batch invariance by token kind checked, and the
# tensor-core decode kernel measured. Every CUDA unit test (the SmolLM2 ones skip until call V has joined the
# model), among them CudaMatmulType.RowsIndependentOfTheirStep, CudaAttention.KindPlansMatchTheReference /
# TokenOutputIndependentOfItsBatch, GpuModel.KindsMakeBatchedBitEqualToAloneSynthQwen3,
# CudaMatmul.DecodeMmaMatchesTheReferenceAtAnyRowCount and session 14's compile-only DecodeRowIndependentOfRowCount;
# bench_cuda_matmul with HOTROD_CUDA_DECODE_MMA=0 / 1 (1-16 rows); the synthetic Qwen3-4B's pp512 / tg128 with
# kinds, with HOTROD_CUDA_BATCH_INVARIANT=0 and with HOTROD_CUDA_DECODE_MMA=1.
set -uo pipefail
cd "$(dirname "$0")/../.."
source bench/gpu_calls/call_lib.sh
unpack_pack
run_cuda_tests '*' 300 tests.txt
for mma in 0 1; do
  echo "== bench_cuda_matmul, HOTROD_CUDA_DECODE_MMA=$mma"
  HOTROD_CUDA_DECODE_MMA=$mma timeout 60 bench_cuda_matmul Q4_K:9728x2560 Q4_K:2560x9728 Q6_K:2560x9728 2>&1 \
    | grep -E "MB|kernel|rows"
done | tee $OUT/matmul_mma.txt
synth_4b_models
for sw in X=1 HOTROD_CUDA_BATCH_INVARIANT=0 HOTROD_CUDA_DECODE_MMA=1 X=1 HOTROD_CUDA_BATCH_INVARIANT=0 HOTROD_CUDA_DECODE_MMA=1; do
  echo "q3 [$sw] $(env $sw timeout 40 hotrod perf -m $q3 -p 512 -n 128 -r 3 --device cuda 2>&1 | grep -E '^(pp|tg)' | tr '\n' ' ')"
done | tee $OUT/perf.txt
