#!/usr/bin/env bash
# The head-to-head of issue 7: `hotrod serve` against llama.cpp's llama-server and against the Python stack
# `python -m llama_cpp.server` (FastAPI over the same native library), on the same model, one after another on
# the same machine, with the published benchmark's workload. Every server gets the same threads and the same
# request bodies; llama-server and hotrod get 4 parallel slots (the Python server has one).
# usage: bench/server_vs_peers.sh [OUT_DIR] [extra hotrod bench flags, e.g. --schema --rounds 12]
# env: HOTROD_BUILD (build dir), LLAMA_BIN (llama.cpp tools), PYREF (python with llama_cpp's server deps),
#      LCP (folder holding the llama_cpp python package from the llama-cpp-python sdist), MODEL, THREADS.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$repo/build/bench-report}
shift || true
build=${HOTROD_BUILD:-$repo/build}
llama_bin=${LLAMA_BIN:-$HOME/.cache/hotrod/llama-ref/build/bin}
pyref=${PYREF:-/tmp/pyref/bin/python}
lcp=${LCP:-/tmp/lcp}
model=${MODEL:-${HOTROD_MODELS:-$HOME/.cache/hotrod/models}/SmolLM2-135M-Instruct.Q4_1.gguf}
threads=${THREADS:-2}
mkdir -p "$out"

targets=(--spawn "hotrod=$build/bin/hotrod serve -m $model --host 127.0.0.1 --port 18081 --threads $threads --parallel 4 -c 8192")
if [[ -x $llama_bin/llama-server ]]; then
    targets+=(--spawn "llama-server=$llama_bin/llama-server -m $model --host 127.0.0.1 --port 18082 -t $threads --parallel 4 -c 8192")
else
    echo "server_vs_peers: no llama-server in $llama_bin (../shared/tools/build-llama-ref builds it); skipped" >&2
fi
if [[ -x $pyref && -d $lcp/llama_cpp ]]; then
    # The Python server is spawned through env(1) so that it finds the bindings and the native library.
    targets+=(--spawn "llama_cpp.server=/usr/bin/env PYTHONPATH=$lcp LLAMA_CPP_LIB_PATH=$llama_bin $pyref -m llama_cpp.server --model $model --host 127.0.0.1 --port 18083 --n_threads $threads --n_ctx 8192")
else
    echo "server_vs_peers: no Python reference ($pyref with $lcp/llama_cpp); skipped" >&2
fi

"$build/bin/hotrod" bench --workload "$repo/../shared/workloads/phase_classification.json" \
    "${targets[@]}" --log-dir "$out" --json "$out/report.json" --html "$out/report.html" "$@" | tee "$out/report.txt"
