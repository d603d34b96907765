#!/usr/bin/env bash
# Encode throughput of hotrod's tokenizer against llama.cpp's on the same 1 MB text and the same vocabularies.
# bench_tokenizer writes the text (HOTROD_BENCH_TEXT_OUT) and measures ours (CPU time, median of RUNS); llama.cpp is
# timed with llama-tokenize -f on that file (CPU time user+sys of the process, best of RUNS) minus its time on an
# empty file (process start and vocabulary load), so what is left is tokenization plus printing the ids.
# CPU time, not wall time, so that other work on a shared machine does not skew either side.
# usage: bench/tokenizer_vs_llama.sh [BUILD_DIR] [LLAMA_BIN_DIR] [RUNS]
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$repo/build}
llama_bin=${2:-$HOME/.cache/hotrod/llama-ref/build/bin}
runs=${3:-3}
models=${HOTROD_MODELS:-$HOME/.cache/hotrod/models}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

HOTROD_BENCH_TEXT_OUT=$work/text.txt "$build/bin/bench_tokenizer" --benchmark_repetitions="$runs" \
    --benchmark_report_aggregates_only=true --benchmark_format=json > "$work/ours.json"

python3 - "$work" "$llama_bin/llama-tokenize" "$runs" "$build/bin/hotrod" \
    "smollm2=$models/SmolLM2-135M-Instruct.Q4_1.gguf" "gemma3=$models/gemma-3-270m-q4_k_m.gguf" \
    "qwen35=$repo/../shared/vocab/ggml-vocab-qwen35.gguf" <<'PY'
import json, os, resource, subprocess, sys

work, tool, runs, hotrod = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
text, empty = os.path.join(work, "text.txt"), os.path.join(work, "empty.txt")
open(empty, "w").close()
n_bytes = os.path.getsize(text)
ours = {b["name"]: b for b in json.load(open(os.path.join(work, "ours.json")))["benchmarks"]
        if b.get("aggregate_name") == "median"}

def cpu_seconds(model, path, flags):
    best = None
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run([tool, "-m", model, "-f", path, "--ids", "--log-disable", "--no-escape", *flags],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        t = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        best = t if best is None else min(best, t)
    return best

print(f"text: {n_bytes} bytes; CPU-time MB/s (1 MB = 1e6 bytes)")
print(f"{'vocab':<9} {'mode':<8} {'hotrod':>9} {'llama.cpp':>10} {'ratio':>7}  same ids")

def ids(cmd):  # the last line of --ids output: "[1, 2, 3]"
    with open(text, "rb") as f:
        out = subprocess.run(cmd, stdin=f, check=True, capture_output=True, text=True).stdout
    return out.strip().splitlines()[-1]

for arg in sys.argv[5:]:
    name, model = arg.split("=", 1)
    if not os.path.exists(model):
        print(f"skip {name}: {model} not found")
        continue
    for mode in ("special", "plain"):
        flags = ["--no-parse-special"] if mode == "plain" else []
        # Check before measuring: both tokenizers must give the same ids on the whole text.
        same = ids([tool, "-m", model, "-f", text, "--ids", "--log-disable", "--no-escape", *flags]) == \
            ids([hotrod, "tokenize", "-m", model, "--ids", *(["--no-special"] if flags else []), "-"])
        t = cpu_seconds(model, text, flags) - cpu_seconds(model, empty, flags)
        llama = n_bytes / 1e6 / max(t, 1e-9)
        b = ours.get(f"encode/{name}/{mode}_median")
        mine = b["MB/s"] if b else float("nan")
        print(f"{name:<9} {mode:<8} {mine:9.1f} {llama:10.2f} {mine / llama:7.1f}x  {'yes' if same else 'NO'}")
PY
