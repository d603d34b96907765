#!/usr/bin/env bash
# Prompt processing (pp512) and generation (tg128) tokens/s at 2 threads, hotrod against llama.cpp's llama-bench
# on the same files in the same run: SmolLM2-135M Q4_1, Gemma 3 270M Q4_K_M and a synthetic Qwen3-0.6B (Q4_K_M
# mix, written here by `hotrod synth`). Beside each tg: its floor, the weights' bytes / the read bandwidth of
# both cores measured in the same run (bench_matmul's ReadSum), as the t/s a pure weight stream would reach.
# Also peak RSS of each benchmark process (/usr/bin/time -v; same work: load, pp, tg) and load-to-first-token
# (in-process: load, a 5-token prompt, its first greedy token; llama.cpp's through its Python bindings when
# LLAMA_PY is a python that can import llama_cpp, else "-").
# usage: bench/pp_tg_vs_llama.sh [BUILD_DIR] [LLAMA_BIN_DIR] [REPS]
#   HOTROD_PERF: command for `hotrod perf` (default BUILD_DIR/bin/hotrod perf)
#   LLAMA_PY:    e.g. "env PYTHONPATH=/tmp/lcp LLAMA_CPP_LIB_PATH=$LLAMA_BIN_DIR /tmp/pyref/bin/python"
# Runs both sides with the same niceness; note the machine's load (printed) when reading the figures.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$repo/build}
llama_bin=${2:-$HOME/.cache/hotrod/llama-ref/build/bin}
reps=${3:-3}
models=${HOTROD_MODELS:-$HOME/.cache/hotrod/models}
perf=${HOTROD_PERF:-"$build/bin/hotrod perf"}
llama_py=${LLAMA_PY:-}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The CPU first: kernel speed (both sides') differs by vendor and core (docs/model_speed.md has a table per vendor).
echo "cpu: $(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//') ($(grep -m1 '^vendor_id' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')), $(nproc) CPUs here"
"$build/bin/hotrod" --version | grep '^cpu:'
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
"$build/bin/hotrod" synth --arch qwen3 --shape 0.6b --quant q4_k_m --seed 1 \
    --vocab "$repo/../shared/vocab/ggml-vocab-qwen2.gguf" -o "$work/synth-qwen3-0.6b.gguf" >&2
"$build/bin/bench_matmul" --benchmark_filter='BM_ReadSum/threads:2' --benchmark_repetitions=3 \
    --benchmark_report_aggregates_only=true --benchmark_format=json > "$work/bw.json" 2> /dev/null

for m in "smollm2=$models/SmolLM2-135M-Instruct.Q4_1.gguf" "gemma3=$models/gemma-3-270m-q4_k_m.gguf" \
         "qwen3-0.6b-synth=$work/synth-qwen3-0.6b.gguf"; do
    name=${m%%=*} path=${m#*=}
    echo "== $name" >&2
    /usr/bin/time -v -o "$work/$name.ours.time" $perf -m "$path" -p 512 -n 128 -t 2 -r "$reps" > "$work/$name.ours"
    /usr/bin/time -v -o "$work/$name.llama.time" "$llama_bin/llama-bench" -m "$path" -t 2 -p 512 -n 128 \
        -r "$reps" -o json > "$work/$name.llama.json" 2> /dev/null
    if [ -n "$llama_py" ]; then
        $llama_py - "$path" > "$work/$name.llama.first" 2> /dev/null <<'PY'
# llama.cpp load-to-first-token as `hotrod perf` measures it: from after the bindings are imported (process and
# interpreter start are not counted on either side): backend init, load (model, context), the prompt, one
# greedy token.
import ctypes, sys, time
import llama_cpp as L
t0 = time.perf_counter()
L.llama_backend_init()
model = L.llama_model_load_from_file(sys.argv[1].encode(), L.llama_model_default_params())
cp = L.llama_context_default_params()
cp.n_ctx, cp.n_threads, cp.n_threads_batch = 1024, 2, 2
ctx = L.llama_init_from_model(model, cp)
vocab = L.llama_model_get_vocab(model)
text = b"The capital of France is"
toks = (L.llama_token * 64)()
n = L.llama_tokenize(vocab, text, len(text), toks, 64, True, False)
L.llama_decode(ctx, L.llama_batch_get_one(toks, n))
n_vocab = L.llama_vocab_n_tokens(vocab)
logits = L.llama_get_logits_ith(ctx, -1)
best = max(range(n_vocab), key=lambda i: logits[i])
one = (L.llama_token * 1)(best)
L.llama_decode(ctx, L.llama_batch_get_one(one, 1))
print("load_to_first_token_ms %.1f" % (1000 * (time.perf_counter() - t0)))
PY
    fi
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2

python3 - "$work" <<'PY'
import json, os, re, sys
work = sys.argv[1]
bw = [b for b in json.load(open(os.path.join(work, "bw.json")))["benchmarks"] if b.get("aggregate_name") == "median"][0]
gbs = bw["bytes_per_second"] / 1e9
print(f"read bandwidth, 2 threads (bench_matmul ReadSum, median of 3): {gbs:.1f} GB/s\n")
print("| model | weights MB | test | hotrod t/s | llama.cpp t/s | ratio | tg floor t/s (hotrod / llama.cpp % of it) |")
print("|---|---:|---|---:|---:|---:|---:|")
extra = []
def rss_mb(path):
    return int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", open(path).read()).group(1)) / 1024
for name in ("smollm2", "gemma3", "qwen3-0.6b-synth"):
    ours = open(os.path.join(work, name + ".ours")).read()
    wbytes = int(re.search(r"weight_bytes (\d+)", ours).group(1))
    lj = json.load(open(os.path.join(work, name + ".llama.json")))
    llama = {("pp" if t["n_prompt"] else "tg"): (t["avg_ts"], t["stddev_ts"]) for t in lj}
    for test in ("pp", "tg"):
        m = re.search(rf"{test}\d+ ([\d.]+) \+- ([\d.]+) t/s", ours)
        o, osd = float(m.group(1)), float(m.group(2))
        l, lsd = llama[test]
        floor = ""
        if test == "tg":
            ceil = gbs * 1e9 / wbytes
            floor = f"{ceil:.0f} ({100 * o / ceil:.0f}% / {100 * l / ceil:.0f}%)"
        print(f"| {name} | {wbytes / 1e6:.0f} | {test}{512 if test == 'pp' else 128} | {o:.1f} ± {osd:.1f} | "
              f"{l:.1f} ± {lsd:.1f} | {o / l:.2f} | {floor} |")
    first = re.search(r"load_to_first_token_ms ([\d.]+)", ours).group(1)
    lf = os.path.join(work, name + ".llama.first")
    lfirst = re.search(r"load_to_first_token_ms ([\d.]+)", open(lf).read()).group(1) if os.path.exists(lf) else "-"
    extra.append(f"| {name} | {rss_mb(os.path.join(work, name + '.ours.time')):.0f} | "
                 f"{rss_mb(os.path.join(work, name + '.llama.time')):.0f} | {first} | {lfirst} |")
print("\n| model | peak RSS MB hotrod | peak RSS MB llama-bench | load-to-first-token ms hotrod | llama.cpp |")
print("|---|---:|---:|---:|---:|")
print("\n".join(extra))
PY
