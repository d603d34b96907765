#!/usr/bin/env bash
# Call Z1 (carry [".device/pack.tar.xz", ".device/peers/llama-server-cuda-sm90a.xz"]: 14.6 + 42 MB beside the
# tree, just under the 64 MiB; after Y6 on the same warm machine, or alone): hotrod beside llama.cpp's llama-server
# (CUDA sm_90a, built here by ../shared/peers/build-llama-cuda.sh) on the synthetic Qwen3-4B Q4_K_M, on the same
# card one after the other: the copy bandwidth, `hotrod perf` pp512 / tg128 (default and HOTROD_CUDA_DECODE_MMA=1),
# the peer's pp / tg from its /completion timings, and the published workload at 1 / 2 / 4 / 8 in flight
# (`hotrod bench --fixed-length`) on three servers: hotrod, hotrod with the tensor-core decode, llama-server.
# Leaves /tmp/llama-server for call Z2.
set -uo pipefail
cd "$(dirname "$0")/../.."
source bench/gpu_calls/call_lib.sh
[[ -x /tmp/devpack/bin/hotrod ]] && use_pack || unpack_pack
export HOTROD_DEVPACK=/tmp/devpack
xz -dc .device/peers/llama-server-cuda-sm90a.xz > /tmp/llama-server && chmod +x /tmp/llama-server
[[ -f $q3 ]] || hotrod synth --arch qwen3 --shape 4b --quant q4_k_m --seed 5 --quick-quant \
  --vocab "$HOTROD_VOCAB_DIR/ggml-vocab-qwen2.gguf" -o "$q3" >/dev/null
nvidia-smi --query-gpu=name,memory.total,clocks.max.sm,clocks.max.mem --format=csv,noheader
for sw in X=1 HOTROD_CUDA_DECODE_MMA=1 X=1 HOTROD_CUDA_DECODE_MMA=1; do
  echo "q3 [$sw] $(env $sw timeout 40 hotrod perf -m $q3 -p 512 -n 128 -r 3 --device cuda 2>&1 | grep -E '^(pp|tg)' | tr '\n' ' ')"
done | tee $OUT/perf.txt
PEER_RAW_ONLY=1 timeout 120 bash bench/gpu_vs_llama_server.sh $q3 $OUT 2>&1 | tail -4
workload_beside_peer $q3 q3 330
