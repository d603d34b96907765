#!/usr/bin/env bash
# Installs scripts/package.sh's packages on a fresh, minimal Debian 12 root (debootstrap minbase: none of our -dev
# packages, no compiler, no Python) and serves the default model from each: the .tar.gz unpacked into /opt, then
# the .deb through apt (which must need nothing beyond the base system). Checks `hotrod --version`, that no
# library is missing (ldd), /health, and one chat completion, over bash's /dev/tcp (no curl there).
# Needs root. usage: scripts/package-check.sh [MODEL.gguf]   (default: the SmolLM2 of scripts/fetch-models.sh)
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
model=${1:-$HOTROD_MODELS/SmolLM2-135M-Instruct.Q4_1.gguf}
tgz=$(ls "$HOTROD_ROOT"/dist/hotrod-*-linux-x86_64.tar.gz | tail -n1)
deb=$(ls "$HOTROD_ROOT"/dist/hotrod_*_amd64.deb | tail -n1)
root=${PACKAGE_CHECK_ROOT:-/var/tmp/hotrod-package-check}
base=/var/tmp/hotrod-fresh-base.tar  # shared with ../shared/tools/fresh-machine-check
command -v debootstrap >/dev/null || { apt-get update -q >/dev/null; apt-get install -y -q debootstrap >/dev/null; }
if [[ ! -s $base ]]; then
  mirror=$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n1)
  [[ -n $mirror ]] || mirror=$(awk '/^deb /{print $2; exit}' /etc/apt/sources.list)
  tmp=$(mktemp -d)
  debootstrap --variant=minbase --include=git,ca-certificates bookworm "$tmp" "$mirror" >/dev/null
  tar cf "$base" -C "$tmp" . && rm -rf "$tmp"
fi
cleanup() { umount "$root/proc" "$root/dev" 2>/dev/null || true; }
trap cleanup EXIT
cleanup; rm -rf "$root"; mkdir -p "$root"; tar xf "$base" -C "$root"
cp /etc/resolv.conf "$root/etc/"
mount -t proc proc "$root/proc"; mount --bind /dev "$root/dev"
mkdir -p "$root/pkg"
cp "$tgz" "$deb" "$model" "$root/pkg/"
cat >"$root/pkg/check.sh" <<'IN'
set -euo pipefail
model=/pkg/$(basename "$(ls /pkg/*.gguf)")
ask() {  # PORT METHOD PATH [BODY]: the response, headers and body
  exec 3<>"/dev/tcp/127.0.0.1/$1"
  printf '%s %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s' \
    "$2" "$3" "${#4}" "$4" >&3
  cat <&3; exec 3<&-
}
serve_and_ask() {  # HOTROD PORT
  "$1" serve -m "$model" --port "$2" >"/pkg/serve-$2.log" 2>&1 &
  local pid=$!
  for _ in $(seq 300); do ask "$2" GET /health "" 2>/dev/null | grep -q '^HTTP/1.1 200' && break; sleep 0.2; done
  ask "$2" GET /health "" | head -n1
  ask "$2" POST /v1/chat/completions '{"messages":[{"role":"user","content":"Say hello."}],"max_tokens":12,"temperature":0}' \
    | tail -n1 | grep -o '"content":"[^"]*"'
  kill "$pid"; wait "$pid" || true
}
echo "== the .tar.gz, unpacked into /opt"
tar xzf /pkg/*.tar.gz -C /opt
bin=$(ls -d /opt/hotrod-*/bin)/hotrod
"$bin" --version
if ldd "$bin" | grep 'not found'; then echo "missing libraries"; exit 1; fi
serve_and_ask "$bin" 18561
echo "== the .deb, through apt"
apt-get install -y -q /pkg/*.deb >/dev/null
hotrod --version
if ldd /usr/bin/hotrod | grep 'not found'; then echo "missing libraries"; exit 1; fi
serve_and_ask hotrod 18562
echo "package check: both packages serve on a fresh Debian 12 root"
IN
chroot "$root" env -i HOME=/root TERM=dumb LANG=C.UTF-8 PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  bash /pkg/check.sh
