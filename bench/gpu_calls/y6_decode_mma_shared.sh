#!/usr/bin/env bash
# Call Y6 (carry [".device/pack.tar.xz"]; a fresh machine): the tensor-core decode with gate and up in one launch
# (matmul_decode_mma's several weights of one shape) and its cluster split for the few-tile shapes (2560-4096
# rows: HOTROD_CUDA_DECODE_MMA_SPLIT=1, 4 warps and up to 8 blocks a tile adding through distributed shared
# memory). Every test_cuda test (session 17: with GpuModel.Qwen35PrefixHitEqualsColdBitForBit), the model tests
# under =all + split; bench_cuda_matmul with the dp4a decode (default), the MMA on every shape
# (=all: 8-warp blocks where tiles are few) and =all with the split; pp512 / tg128 of the synthetic Qwen3-4B and
# Qwen3.5-4B alternating default / =1 / =all + split (session 16's first machine, separate launches: 367 / 367
# against 359 / 356); the workload at 1 / 4 / 8 in flight, three servers (separate launches: 4.07 / 8.63 / 10.80
# against 3.87 / 10.05 / 14.47 calls/s).
set -uo pipefail
cd "$(dirname "$0")/../.."
source bench/gpu_calls/call_lib.sh
unpack_pack
run_cuda_tests '*' 240 tests.txt
for sw in "HOTROD_CUDA_DECODE_MMA=all HOTROD_CUDA_DECODE_MMA_SPLIT=1"; do
  echo "== model tests [$sw]: $(env $sw timeout 60 test_cuda --gtest_filter='GpuModel.Kinds*:GpuModel.Graph*:GpuModel.SynthQwen3Tiny*' 2>&1 | grep -E '^\[ +(FAILED|PASSED) +\]|Failure' | tr '\n' ' ')"
done | tee $OUT/model_tests_mma.txt
for sw in X=1 HOTROD_CUDA_DECODE_MMA=all "HOTROD_CUDA_DECODE_MMA=all HOTROD_CUDA_DECODE_MMA_SPLIT=1"; do
  echo "== bench_cuda_matmul [$sw]"
  env $sw timeout 60 bench_cuda_matmul Q4_K:9728x2560 Q6_K:151936x2560 Q4_K:2560x9728 Q6_K:2560x9728 Q4_K:4096x2560 \
    2>&1 | grep -E "MB|rows +(1|2|4|8|16) "
done | tee $OUT/matmul.txt
[[ -f $q3 ]] || hotrod synth --arch qwen3 --shape 4b --quant q4_k_m --seed 5 --quick-quant \
  --vocab "$HOTROD_VOCAB_DIR/ggml-vocab-qwen2.gguf" -o "$q3" >/dev/null
split="HOTROD_CUDA_DECODE_MMA=all HOTROD_CUDA_DECODE_MMA_SPLIT=1"
for model in q3; do
  for sw in X=1 HOTROD_CUDA_DECODE_MMA=1 "$split" X=1 HOTROD_CUDA_DECODE_MMA=1 "$split"; do
    echo "$model [$sw] $(env $sw timeout 40 hotrod perf -m ${!model} -p 512 -n 128 -r 3 --device cuda 2>&1 | grep -E '^(pp|tg)' | tr '\n' ' ')"
  done
done | tee $OUT/perf.txt
mkdir -p $OUT/q3
timeout 200 hotrod bench --workload /tmp/devpack/workload.json --fixed-length --concurrency 1,4,8 --rounds 4 \
  --spawn "dp4a=hotrod serve -m $q3 --device cuda --parallel 8 -c 16384 --host 127.0.0.1 --port 18081" \
  --spawn "mma=env HOTROD_CUDA_DECODE_MMA=1 hotrod serve -m $q3 --device cuda --parallel 8 -c 16384 --host 127.0.0.1 --port 18083" \
  --spawn "split=env $split hotrod serve -m $q3 --device cuda --parallel 8 -c 16384 --host 127.0.0.1 --port 18085" \
  --log-dir $OUT/q3 --json $OUT/bench_mma.json 2>&1 | tail -26
# The host's share of a step under the workload (session 17: /metrics' hotrod_engine_step_seconds_total against
# hotrod_engine_forward_seconds_total): one server, the workload at 1 and 4 in flight, then its counters.
hotrod serve -m $q3 --device cuda --parallel 8 -c 16384 --host 127.0.0.1 --port 18087 > $OUT/host_share_server.log 2>&1 &
srv=$!
for _ in $(seq 300); do LD_LIBRARY_PATH= curl -sf http://127.0.0.1:18087/health >/dev/null && break; sleep 0.5; done
timeout 120 hotrod bench --workload /tmp/devpack/workload.json --fixed-length --concurrency 1,4 --rounds 2 \
  --target hotrod=http://127.0.0.1:18087 2>&1 | grep -E "calls/s|p50" | head -6
LD_LIBRARY_PATH= curl -s http://127.0.0.1:18087/metrics | grep -E "^hotrod_(engine|generated|backend)" | tee $OUT/host_share.txt
kill $srv; wait $srv 2>/dev/null
