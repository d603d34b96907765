#!/usr/bin/env bash
# Call Y3 (carry [".device/g3"]; after U / N on the same warm machine: SmolLM2 joined, wheels in /tmp/site): the e2e
# soak alone for 150 s against `hotrod serve --device cuda` (64 clients, --parallel 8), its RSS after warm-up and
# after printed (-s): session 15's +18.6% was the server's CUDA graphs.
set -uo pipefail
cd "$(dirname "$0")/../.."
source bench/gpu_calls/call_lib.sh
use_pack
stash_parts
join_smollm2
install_wheels
export HOTROD_BUILD_DIR=/tmp/devpack HOTROD_E2E_DEVICE=cuda HOTROD_SOAK_SECONDS=150
timeout 300 python3 -m pytest -q -s -p no:cacheprovider tests/e2e/test_soak.py 2>&1 | tail -15 | tee $OUT/soak.txt
