#!/usr/bin/env bash
# hotrod against llama.cpp's llama-server on the GPU, same file, same card, one after the other: raw speed
# (pp512 / tg128 from each server's own timings on one 512-token prompt, 128 tokens generated) and the published
# workload at 80 tokens out (`hotrod bench --fixed-length`, calls/s at 1/2/4/8 in flight).
# Run on the GPU machine by bench/gpu_device_run.sh (the llama-server binary from ../shared/peers/, carried xz'd).
#   usage: [PEER_RAW_ONLY=1] [PP_LONG=8192] gpu_vs_llama_server.sh MODEL OUT_DIR
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
model=$1 out=$2
llama=/tmp/llama-server
if [[ ! -x $llama ]]; then
  xz -dc "$root/.device/peers/llama-server-cuda-sm90a.xz" >"$llama" && chmod +x "$llama" || { echo "no llama-server"; exit 1; }
fi
export LD_LIBRARY_PATH=/usr/local/cuda/lib64:/usr/local/cuda/lib:${LD_LIBRARY_PATH:-}
workload=${HOTROD_DEVPACK:-$root/.device}/workload.json

# One server at a time: start, wait for /health, ask, stop.
raw_speed() {  # NAME PORT CMD...
  local name=$1 port=$2; shift 2
  "$@" >"$out/$name-raw.log" 2>&1 &
  local pid=$!
  # The system's curl without LD_LIBRARY_PATH: .device/lib carries the libcurl hotrod was built with, older than
  # the one the GPU machine's curl needs (curl then fails on a missing symbol and this loop would wait 300 s).
  for _ in $(seq 600); do
    LD_LIBRARY_PATH= curl -sf "http://127.0.0.1:$port/health" >/dev/null && break
    kill -0 "$pid" 2>/dev/null || { echo "$name exited before it was ready"; return 1; }
    sleep 0.5
  done
  python3 - "$name" "$port" "${PP_LONG:-0}" <<'PY'
import json, sys, time, urllib.request
name, port, pp_long = sys.argv[1], sys.argv[2], int(sys.argv[3])
words = ("the quick brown fox jumps over a lazy dog while seven bright stars watch the quiet river run " * 600).split()
prompt = " ".join(words[:505])  # ~512 tokens
def ask(n_predict, prompt=prompt):
    body = json.dumps({"prompt": prompt, "n_predict": n_predict, "temperature": 0, "ignore_eos": True,
                       "max_tokens": n_predict, "cache_prompt": False}).encode()
    t = time.time()
    r = urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{port}/completion", body,
                                                      {"Content-Type": "application/json"}), timeout=600)
    return json.loads(r.read()), time.time() - t
ask(8)
res = [ask(128) for _ in range(3)]
for j, wall in res:
    tm = j.get("timings", {})
    print(f"{name}: prompt {tm.get('prompt_n')} tok {tm.get('prompt_per_second', 0):.0f} t/s, "
          f"gen {tm.get('predicted_n')} tok {tm.get('predicted_per_second', 0):.1f} t/s, wall {wall*1000:.0f} ms")
if pp_long:  # one long prompt (PP_LONG words, about as many tokens), one token out: prefill speed at that length
    j, wall = ask(1, " ".join(words[:pp_long - 8]))
    tm = j.get("timings", {})
    print(f"{name}: long prompt {tm.get('prompt_n')} tok {tm.get('prompt_per_second', 0):.0f} t/s, "
          f"wall {wall*1000:.0f} ms")
PY
  kill $pid; wait $pid 2>/dev/null
}

# PP_LONG=N: also one prompt of about N tokens (the context grows to hold it).
ctx=$(( ${PP_LONG:-0} + 512 > 4096 ? ${PP_LONG:-0} + 512 : 4096 ))
raw_speed llama-server 18082 "$llama" -m "$model" -ngl 99 --parallel 1 -c $ctx --host 127.0.0.1 --port 18082
# hotrod's own pp512 / tg128 come from `hotrod perf` (the perf stage), which measures as llama-bench does.
# PEER_RAW_ONLY=1: the raw speed only (a short run beside the perf stage), not the workload.
[[ ${PEER_RAW_ONLY:-0} == 1 ]] && exit 0

hotrod bench --workload "$workload" --fixed-length --concurrency 1,2,4,8 --rounds 8 \
  --spawn "hotrod=hotrod serve -m $model --device cuda --parallel 8 -c 16384 --host 127.0.0.1 --port 18081" \
  --spawn "llama-server=$llama -m $model -ngl 99 --parallel 8 -c 16384 --host 127.0.0.1 --port 18082" \
  --log-dir "$out" --json "$out/bench.json" 2>&1 | tail -60
