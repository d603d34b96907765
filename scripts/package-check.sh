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
# The root gets a /dev of its own (a few nodes made here), never a bind mount of the host's: removing the root
# later must not be able to reach the host's /dev. Only /proc is mounted, and the root is removed only when
# nothing is mounted below it (a process left running keeps a mount busy).
mounted_below() { awk -v r="$root/" 'index($2, r) == 1 { found = 1 } END { exit !found }' /proc/mounts; }
cleanup() {
  pkill -f "$root/" 2>/dev/null || true
  pkill -f '/opt/hotrod-' 2>/dev/null || true
  pkill -f 'serve -m /pkg/' 2>/dev/null || true
  umount -l "$root/proc" 2>/dev/null || true
}
trap cleanup EXIT
cleanup
if mounted_below; then echo "package-check: something is still mounted under $root; not removing it" >&2; exit 1; fi
rm -rf "$root"; mkdir -p "$root"; tar xf "$base" -C "$root" --exclude=./dev --exclude=./proc
mkdir -p "$root/dev" "$root/proc"
for n in "null c 1 3" "zero c 1 5" "full c 1 7" "random c 1 8" "urandom c 1 9" "tty c 5 0"; do
  set -- $n
  [[ -e $root/dev/$1 ]] || mknod -m 666 "$root/dev/$1" "$2" "$3" "$4"
done
ln -sfn /proc/self/fd "$root/dev/fd"
cp /etc/resolv.conf "$root/etc/"
mount -t proc proc "$root/proc"
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
  trap "kill $pid 2>/dev/null || true" EXIT  # also when a check below fails
  for _ in $(seq 300); do ask "$2" GET /health "" 2>/dev/null | grep -q '^HTTP/1.1 200' && break; sleep 0.2; done
  ask "$2" GET /health "" | head -n1
  # The reply is chunked (hotrod streams even a whole JSON body): look for the answer anywhere in it.
  ask "$2" POST /v1/chat/completions '{"messages":[{"role":"user","content":"Say hello."}],"max_tokens":12,"temperature":0}' \
    | grep -o '"content":"[^"]*"' | head -n1
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
