#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz) in build-fuzz with clang, ASan and UBSan, and runs each for a bounded
# time on its seed corpus (tests/fuzz/corpus/<name>/, whose crash-* inputs are the crashes found so far). Fails on
# any crash, leak, timeout or failed property; the input that did it is left in build-fuzz/artifacts/.
# Usage: bash scripts/fuzz.sh [SECONDS per target, default 30] [TARGET...]   (.ci/run: via scripts/test.sh)
# New inputs a run finds go to build-fuzz/corpus/<name>/ (kept between local runs, never committed by this script).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
seconds=${1:-30}
[[ $# -gt 0 ]] && shift
dir=$HOTROD_ROOT/build-fuzz
targets=("$@")
if [[ ${#targets[@]} -eq 0 ]]; then
  for f in "$HOTROD_ROOT"/tests/fuzz/*.cpp; do targets+=("$(basename "$f" .cpp)"); done
fi

install_apt_packages  # clang and libFuzzer, when run alone
log "fuzz build (clang, ASan+UBSan)"
CC=clang CXX=clang++ build_hotrod "$dir" -DHOTROD_FUZZ=ON -DHOTROD_CUDA=OFF -DHOTROD_WERROR=OFF \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo

mkdir -p "$dir/artifacts"
export ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1
failed=()
for t in "${targets[@]}"; do
  work=$dir/corpus/$t
  mkdir -p "$work"
  seeds=$HOTROD_ROOT/tests/fuzz/corpus/$t
  # The crashes found so far, each run whole (the fuzzing below cuts inputs at -max_len).
  crashes=("$seeds"/crash-*)
  if [[ -e ${crashes[0]} ]] && ! "$dir/fuzz/fuzz_$t" "${crashes[@]}" >"$dir/$t.log" 2>&1; then
    tail -60 "$dir/$t.log" >&2
    failed+=("$t")
    continue
  fi
  args=(-max_total_time="$seconds" -max_len=8192 -rss_limit_mb=2048 -timeout=25 -print_final_stats=1
        -artifact_prefix="$dir/artifacts/$t-")
  [[ -f $HOTROD_ROOT/tests/fuzz/$t.dict ]] && args+=(-dict="$HOTROD_ROOT/tests/fuzz/$t.dict")
  log "fuzz $t for ${seconds}s"
  if nice -n 10 "$dir/fuzz/fuzz_$t" "${args[@]}" "$work" "$seeds" >"$dir/$t.log" 2>&1; then
    # The last status line: executions, coverage (cov: edges, ft: features) and corpus size.
    grep -E '^#[0-9]+' "$dir/$t.log" | tail -1 | sed "s/^/  $t: /" >&2
    grep -E 'stat::number_of_executed_units|stat::average_exec_per_sec' "$dir/$t.log" | sed "s/^/  $t: /" >&2
  else
    tail -60 "$dir/$t.log" >&2
    failed+=("$t")
  fi
done
if [[ ${#failed[@]} -gt 0 ]]; then
  log "fuzzing failed: ${failed[*]} (logs: build-fuzz/<target>.log, inputs: build-fuzz/artifacts/)"
  exit 1
fi
log "fuzzing passed: ${targets[*]}"
