#!/usr/bin/env bash
# Call D (any time; ~9 min of the 16 cores): builds the peer, llama.cpp's llama-server and llama-bench for sm_90a,
# from the tarball `bash ../shared/peers/build-llama-cuda.sh there` prepares, and leaves them in /tmp (which a warm
# machine keeps for call E; .device/ does not outlive the call). Carry [".device/llama-src.tgz",
# ".device/build-llama-cuda-there.sh"].
set -uo pipefail
cd "$(dirname "$0")/../.."
nproc
time bash .device/build-llama-cuda-there.sh || { tail -30 .device/peers/build.log; exit 1; }
cp .device/peers/bin/llama-server /tmp/llama-server && cp .device/peers/bin/llama-bench /tmp/llama-bench && ls -la /tmp/llama-*
# (The binaries do not come back: $OUT returns files up to a size limit that 42 MB of xz exceeds, 2026-12-07.)
