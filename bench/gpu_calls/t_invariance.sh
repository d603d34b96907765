#!/usr/bin/env bash
# Call T (carry [".device/pack.tar.xz", ".device/m1"]; session 15): batch invariance by token kind checked. Every
# CUDA unit test (the SmolLM2 ones skip until call V has joined the model), among them
# CudaMatmulType.RowsIndependentOfTheirStep, CudaAttention.KindPlansMatchTheReference / TokenOutputIndependentOfItsBatch,
# GpuModel.KindsMakeBatchedBitEqualToAloneSynthQwen3 and session 14's compile-only DecodeRowIndependentOfRowCount;
# then the synthetic Qwen3-4B's pp512 / tg128 with kinds and with HOTROD_CUDA_BATCH_INVARIANT=0, alternating.
set -uo pipefail
cd "$(dirname "$0")/../.."
source bench/gpu_calls/call_lib.sh
unpack_pack
run_cuda_tests '*' 330 tests.txt
synth_4b_models
for sw in X=1 HOTROD_CUDA_BATCH_INVARIANT=0 X=1 HOTROD_CUDA_BATCH_INVARIANT=0; do
  echo "q3 [$sw] $(env $sw timeout 40 hotrod perf -m $q3 -p 512 -n 128 -r 3 --device cuda 2>&1 | grep -E '^(pp|tg)' | tr '\n' ' ')"
done | tee $OUT/perf.txt
