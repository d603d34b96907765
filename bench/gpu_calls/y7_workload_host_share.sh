#!/usr/bin/env bash
# Call Y7 (after Y6 on the same warm machine; carry nothing): the workload at 1 / 4 / 8 in flight on three servers
# (dp4a decode, HOTROD_CUDA_DECODE_MMA=1, =all + split; session 16 with separate launches: 4.07 / 8.63 / 10.80
# against 3.87 / 10.05 / 14.47 calls/s) and one with HOTROD_CUDA_DECODE_Q4K_ROWS=4, then the host's share of a step from one server's /metrics.
set -uo pipefail
cd "$(dirname "$0")/../.."
source bench/gpu_calls/call_lib.sh
use_pack
[[ -f $q3 ]] || { echo "no $q3: call Y6 did not run on this machine"; exit 3; }
split="HOTROD_CUDA_DECODE_MMA=all HOTROD_CUDA_DECODE_MMA_SPLIT=1"
mkdir -p $OUT/q3
timeout 280 hotrod bench --workload /tmp/devpack/workload.json --fixed-length --concurrency 1,4,8 --rounds 4 \
  --spawn "dp4a=hotrod serve -m $q3 --device cuda --parallel 8 -c 16384 --host 127.0.0.1 --port 18081" \
  --spawn "mma=env HOTROD_CUDA_DECODE_MMA=1 hotrod serve -m $q3 --device cuda --parallel 8 -c 16384 --host 127.0.0.1 --port 18083" \
  --spawn "split=env $split hotrod serve -m $q3 --device cuda --parallel 8 -c 16384 --host 127.0.0.1 --port 18085" \
  --spawn "rows4=env HOTROD_CUDA_DECODE_Q4K_ROWS=4 hotrod serve -m $q3 --device cuda --parallel 8 -c 16384 --host 127.0.0.1 --port 18089" \
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
