#!/usr/bin/env bash
# Call N (issue 19's e2e check; after a call that unpacked the pack and one that joined SmolLM2 on the same warm
# machine, e.g. A then B or L then M; carry [".whl"] (written here by e2e_wheels.sh) and any SmolLM2 part not yet
# brought, e.g. ".device/m3"): the wheels into /tmp/site,
# then the e2e suite against `hotrod serve --device cuda` (scripts/test-gpu.sh without its unit tests). Tests
# needing what the machine lacks (nginx, Chromium, Gemma 3's file) skip.
set -uo pipefail
cd "$(dirname "$0")/../.."
source bench/gpu_calls/call_lib.sh
use_pack
join_smollm2
install_wheels
HOTROD_BUILD_DIR=/tmp/devpack HOTROD_TEST_CUDA=/bin/true HOTROD_PYTHON=python3 HOTROD_PYTEST_ARGS=-rP \
  timeout 560 bash scripts/test-gpu.sh 2>&1 | tee $OUT/e2e_full.txt | tail -40 | tee $OUT/e2e.txt
