#!/usr/bin/env bash
# Call Q (first on a machine; carry [".device/pack.tar.xz", ".device/llama-src.tgz",
# ".device/build-llama-cuda-there.sh"]): the peer (call D's build) in the background while the kernel and model
# tests that session 14's CUDA changes touch run in the foreground (no timing here: the build takes the cores);
# then it waits for the build, leaving /tmp/llama-{server,bench} and /tmp/devpack for calls O, P, E and F.
set -uo pipefail
cd "$(dirname "$0")/../.."
source bench/gpu_calls/call_lib.sh
unpack_pack
(nice -n 10 bash bench/gpu_calls/d_peer_build.sh > $OUT/peer_build.txt 2>&1) &
peer=$!
synth_4b_models
run_cuda_tests '*CudaMatmul*:CudaAttention*:CudaOps.*:GpuModel.*-*SmolLM2*:*Gemma3MatchesCpu*' 420 tests.txt
wait $peer; echo "peer build exit $?"; tail -5 $OUT/peer_build.txt
