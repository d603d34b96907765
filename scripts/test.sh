#!/usr/bin/env bash
# README command 2: install what is missing, build Release and an ASan+UBSan build, run every test in both.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
install_apt_packages test
ensure_venv
bash "$HOTROD_ROOT/scripts/fetch-models.sh"
export HOTROD_REQUIRE_MODELS=1 HOTROD_PYTHON=$HOTROD_VENV/bin/python
jobs=${HOTROD_JOBS:-$(nproc)}

# The Release build has the CUDA backend wherever nvcc is (HOTROD_CUDA=AUTO): CUDA code must compile and link here
# even without a GPU, and its tests skip with a reason. The sanitizer build leaves CUDA out (nothing of it runs here).
log "Release build"
build_hotrod "$HOTROD_ROOT/build" -DCMAKE_BUILD_TYPE=Release
log "unit tests (Release)"
ctest --test-dir "$HOTROD_ROOT/build" --output-on-failure -j"$jobs"

log "ASan+UBSan build"
build_hotrod "$HOTROD_ROOT/build-asan" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHOTROD_SANITIZE=ON -DHOTROD_BUILD_BENCH=OFF \
  -DHOTROD_CUDA=OFF
log "unit tests (ASan+UBSan)"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir "$HOTROD_ROOT/build-asan" --output-on-failure -j"$jobs"

# libFuzzer targets (tests/fuzz), clang + ASan/UBSan in build-fuzz: each for a bounded time; a crash fails the run.
bash "$HOTROD_ROOT/scripts/fuzz.sh" "${HOTROD_FUZZ_SECONDS:-30}"

if [[ -d $HOTROD_ROOT/tests/e2e ]] && compgen -G "$HOTROD_ROOT/tests/e2e/test_*.py" >/dev/null; then
  log "end-to-end tests"
  "$HOTROD_VENV/bin/python" -m pytest -q "$HOTROD_ROOT/tests/e2e"
fi
log "all tests passed"
