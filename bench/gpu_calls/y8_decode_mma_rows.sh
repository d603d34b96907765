#!/usr/bin/env bash
# Call Y8 (carry [".device/pack.tar.xz"]; fresh or warm): HOTROD_CUDA_DECODE_MMA=rows, the tensor-core decode from
# two token rows and the dp4a kernel at one, which mix by row count because the tensor-core kernel now sums a row's
# eight super-block residues in the dp4a kernel's order (the same bits: CudaMatmul.DecodeMmaMatchesTheReference...
# compares them). The matmul tests, the model tests under =rows, tg128 default / =rows alternating, and the
# workload at 1 / 4 / 8 in flight on a default and a =rows server (session 17's Y7: dp4a 4.21 / 8.57 / 11.24
# calls/s, =1 4.16 / 10.36 / 14.66, =all + split 3.34 / 10.60 / 17.34).
set -uo pipefail
cd "$(dirname "$0")/../.."
source bench/gpu_calls/call_lib.sh
[[ -x /tmp/devpack/bin/hotrod ]] && [[ ! .device/pack.tar.xz -nt /tmp/devpack/bin/hotrod ]] && use_pack || unpack_pack
run_cuda_tests '*Matmul*' 90 tests_matmul.txt
echo "== model tests [=rows]: $(HOTROD_CUDA_DECODE_MMA=rows timeout 90 test_cuda --gtest_filter='GpuModel.Kinds*:GpuModel.Graph*:GpuModel.SynthQwen3Tiny*:GpuModel.BatchedEquals*:GpuModel.Qwen35*' 2>&1 | grep -E '^\[ +(FAILED|PASSED) +\]|Failure' | tr '\n' ' ')" | tee $OUT/model_tests_rows.txt
[[ -f $q3 ]] || hotrod synth --arch qwen3 --shape 4b --quant q4_k_m --seed 5 --quick-quant \
  --vocab "$HOTROD_VOCAB_DIR/ggml-vocab-qwen2.gguf" -o "$q3" >/dev/null
for sw in X=1 HOTROD_CUDA_DECODE_MMA=rows X=1 HOTROD_CUDA_DECODE_MMA=rows; do
  echo "q3 [$sw] $(env $sw timeout 40 hotrod perf -m $q3 -p 512 -n 128 -r 3 --device cuda 2>&1 | grep -E '^(pp|tg)' | tr '\n' ' ')"
done | tee $OUT/perf.txt
mkdir -p $OUT/q3
timeout 200 hotrod bench --workload /tmp/devpack/workload.json --fixed-length --concurrency 1,4,8 --rounds 4 \
  --spawn "dp4a=hotrod serve -m $q3 --device cuda --parallel 8 -c 16384 --host 127.0.0.1 --port 18081" \
  --spawn "rows=env HOTROD_CUDA_DECODE_MMA=rows hotrod serve -m $q3 --device cuda --parallel 8 -c 16384 --host 127.0.0.1 --port 18083" \
  --log-dir $OUT/q3 --json $OUT/bench_rows.json 2>&1 | tail -24
