#!/usr/bin/env bash
# Call Y6 (carry [".device/pack.tar.xz"]; a fresh machine): the tensor-core decode with gate and up in one launch
# (matmul_decode_mma's several weights of one shape) and its cluster split for the few-tile shapes (2560-4096
# rows: HOTROD_CUDA_DECODE_MMA_SPLIT=1, 4 warps and up to 8 blocks a tile adding through distributed shared
# memory). Every test_cuda test (session 17: with GpuModel.Qwen35PrefixHitEqualsColdBitForBit), the model tests
# under =all + split; bench_cuda_matmul with the dp4a decode (default), the MMA on every shape
# (=all: 8-warp blocks where tiles are few) and =all with the split; pp512 / tg128 of the synthetic Qwen3-4B and
# Qwen3.5-4B alternating default / =1 / =all + split (session 16's first machine, separate launches: 367 / 367
# against 359 / 356); the workload at 1 / 4 / 8 in flight, three servers (separate launches: 4.07 / 8.63 / 10.80
# against 3.87 / 10.05 / 14.47 calls/s) in call Y7. Session 17 adds the one-row Q4_K kernel's rows a warp
# (HOTROD_CUDA_DECODE_Q4K_ROWS=2|4): its tests, bench and tg128 beside the rest.
set -uo pipefail
cd "$(dirname "$0")/../.."
source bench/gpu_calls/call_lib.sh
unpack_pack
run_cuda_tests '*' 240 tests.txt
for sw in "HOTROD_CUDA_DECODE_MMA=all HOTROD_CUDA_DECODE_MMA_SPLIT=1"; do
  echo "== model tests [$sw]: $(env $sw timeout 60 test_cuda --gtest_filter='GpuModel.Kinds*:GpuModel.Graph*:GpuModel.SynthQwen3Tiny*' 2>&1 | grep -E '^\[ +(FAILED|PASSED) +\]|Failure' | tr '\n' ' ')"
done | tee $OUT/model_tests_mma.txt
for rows in 4; do
  echo "== matmul tests [HOTROD_CUDA_DECODE_Q4K_ROWS=$rows]: $(HOTROD_CUDA_DECODE_Q4K_ROWS=$rows timeout 60 test_cuda --gtest_filter='*Matmul*:GpuModel.SynthQwen3Tiny*:GpuModel.Graph*' 2>&1 | grep -E '^\[ +(FAILED|PASSED) +\]|Failure' | tr '\n' ' ')"
done | tee $OUT/rows_tests.txt
for sw in X=1 HOTROD_CUDA_DECODE_Q4K_ROWS=2 HOTROD_CUDA_DECODE_Q4K_ROWS=4 HOTROD_CUDA_DECODE_MMA=all "HOTROD_CUDA_DECODE_MMA=all HOTROD_CUDA_DECODE_MMA_SPLIT=1"; do
  echo "== bench_cuda_matmul [$sw]"
  env $sw timeout 60 bench_cuda_matmul Q4_K:9728x2560 Q6_K:151936x2560 Q4_K:2560x9728 Q6_K:2560x9728 Q4_K:4096x2560 \
    2>&1 | grep -E "MB|rows +(1|2|4|8|16) "
done | tee $OUT/matmul.txt
[[ -f $q3 ]] || hotrod synth --arch qwen3 --shape 4b --quant q4_k_m --seed 5 --quick-quant \
  --vocab "$HOTROD_VOCAB_DIR/ggml-vocab-qwen2.gguf" -o "$q3" >/dev/null
split="HOTROD_CUDA_DECODE_MMA=all HOTROD_CUDA_DECODE_MMA_SPLIT=1"
for model in q3; do
  for sw in X=1 HOTROD_CUDA_DECODE_MMA=1 "$split" HOTROD_CUDA_DECODE_Q4K_ROWS=4 \
    X=1 HOTROD_CUDA_DECODE_MMA=1 "$split" HOTROD_CUDA_DECODE_Q4K_ROWS=4; do
    echo "$model [$sw] $(env $sw timeout 40 hotrod perf -m ${!model} -p 512 -n 128 -r 3 --device cuda 2>&1 | grep -E '^(pp|tg)' | tr '\n' ' ')"
  done
done | tee $OUT/perf.txt
