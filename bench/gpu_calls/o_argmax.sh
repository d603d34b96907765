#!/usr/bin/env bash
# Call O (carry [".device/pack.tar.xz"]): greedy-only steps' device arg-max (argmax.cu, off by default until this
# runs). Its kernel test, then the published workload on synthetic Qwen3-4B with it off and on (two hotrod servers,
# one after the other, same card): calls/s at 1/2/4/8 and p50. Before it, four greedy completions from a server
# with it and one without must be the same text: only a served step sets greedy_only, so that is its model check.
# If the test passes, the texts agree and it wins, make CudaBackend::prefers_argmax_rows true by default.
set -uo pipefail
cd "$(dirname "$0")/../.."
source bench/gpu_calls/call_lib.sh
if [[ ${SKIP_TESTS:-0} == 1 ]]; then use_pack; else  # call Q unpacked the pack and ran the test
  unpack_pack
  timeout 60 test_cuda --gtest_filter='CudaOps.ArgmaxRows*' 2>&1 | grep -E "^\[ +(FAILED|PASSED|OK) +\]|Failure|Expected|Which is"
fi
synth_4b_models
# The same greedy completions from a server with and one without it: the texts must be equal.
for sw in X=1 HOTROD_CUDA_ARGMAX=1; do
  env $sw hotrod serve -m $q3 --device cuda --parallel 4 -c 4096 --host 127.0.0.1 --port 18090 > $OUT/serve_$sw.log 2>&1 &
  pid=$!
  python3 - "$sw" <<'PY' | tee -a $OUT/agree.txt
import json, sys, time, urllib.request
for _ in range(300):
    try:
        urllib.request.urlopen("http://127.0.0.1:18090/health", timeout=1); break
    except Exception:
        time.sleep(0.2)
out = []
for p in ["The capital of France is", "def fib(n):", "Once upon a time", "1, 2, 3, 4,"]:
    body = json.dumps({"prompt": p, "max_tokens": 48, "temperature": 0}).encode()
    req = urllib.request.Request("http://127.0.0.1:18090/v1/completions", body, {"Content-Type": "application/json"})
    out.append(json.load(urllib.request.urlopen(req, timeout=60))["choices"][0]["text"])
print(sys.argv[1], json.dumps(out))
PY
  kill $pid; wait $pid 2>/dev/null
done
[[ $(cut -d' ' -f2- $OUT/agree.txt | sort -u | wc -l) == 1 ]] && echo "greedy texts: equal" || echo "greedy texts: DIFFER"
timeout 300 hotrod bench --workload /tmp/devpack/workload.json --fixed-length --concurrency 1,4 --rounds 6 \
  --spawn "rows=hotrod serve -m $q3 --device cuda --parallel 8 -c 16384 --host 127.0.0.1 --port 18081" \
  --spawn "argmax=env HOTROD_CUDA_ARGMAX=1 hotrod serve -m $q3 --device cuda --parallel 8 -c 16384 --host 127.0.0.1 --port 18083" \
  --log-dir $OUT --json $OUT/bench.json 2>&1 | tail -30
