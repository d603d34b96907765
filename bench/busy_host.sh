#!/usr/bin/env bash
# Decode speed on a host that is busy with something else (issue 18, item 4): `hotrod perf -n 64` on all cores,
# with one competing busy loop per BUSY core (default 1), workers pinned (the default), unpinned (HOTROD_PIN=0),
# and HOTROD_PIN=auto (pinned only when the load average leaves our threads their cores: should_pin in
# src/cpu/thread_pool.h). The load average lags by a minute, so the busy loops start WARMUP seconds early
# (default 60) for auto's decision to see them.
# llama.cpp's llama-bench runs beside it under the same load when LLAMA_BIN (default: the reference build of
# ../shared/tools/build-llama-ref) has one.
#   usage: bash bench/busy_host.sh [MODEL]      (default: SmolLM2-135M-Instruct Q4_1 from the models cache)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
hotrod=${HOTROD:-$root/build/bin/hotrod}
model=${1:-${HOTROD_MODELS:-$HOME/.cache/hotrod/models}/SmolLM2-135M-Instruct.Q4_1.gguf}
busy=${BUSY:-1}
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(nproc) cores; model $(basename "$model")"
llama_bench=${LLAMA_BIN:-$HOME/.cache/hotrod/llama-ref/build/bin}/llama-bench
run_llama() {
    [ -x "$llama_bench" ] || return 0
    "$llama_bench" -m "$model" -t "$(nproc)" -p 0 -n 64 -r 3 2>/dev/null | awk -F'|' '/tg64/ {print "'"$1"': llama-bench tg64 " $(NF-1) "t/s"}'
}
run() { "$hotrod" perf -m "$model" -p 0 -n 64 -r 3 --device cpu 2>&1 | grep -E '^tg' | sed "s/^/$1: /"; }
run "quiet, default"
run_llama "quiet"
pids=()
for _ in $(seq "$busy"); do (while :; do :; done) & pids+=($!); done
trap 'kill "${pids[@]}" 2>/dev/null' EXIT
sleep "${WARMUP:-60}"
echo "load average with $busy busy loop(s): $(cut -d' ' -f1 /proc/loadavg)"
run "busy, pinned (default)"
HOTROD_PIN=0 run "busy, unpinned"
HOTROD_PIN=auto run "busy, HOTROD_PIN=auto"
run_llama "busy"
