#!/usr/bin/env bash
# Builds the packages a user copies (issue 16): dist/hotrod-VERSION-linux-x86_64.tar.gz (bin/hotrod and
# lib/hotrod/, unpack anywhere) and dist/hotrod_VERSION_amd64.deb (the same under /usr). A portable Release build
# (HOTROD_PORTABLE: pcre2 static, cpp-httplib and the OpenSSL / brotli it needs beside the binary, the CUDA runtime
# static when nvcc is here), so either runs on a base Debian 12 system with nothing else installed; a GPU needs
# only its driver. scripts/package-check.sh proves that in a fresh root.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
install_apt_packages
build_hotrod "$HOTROD_ROOT/build-pkg" -DCMAKE_BUILD_TYPE=Release -DHOTROD_BUILD_TESTS=OFF -DHOTROD_BUILD_BENCH=OFF \
  -DHOTROD_PORTABLE=ON
mkdir -p "$HOTROD_ROOT/dist"
(cd "$HOTROD_ROOT/build-pkg" && cpack -B "$HOTROD_ROOT/dist" >/dev/null)
rm -rf "$HOTROD_ROOT/dist/_CPack_Packages"
ls -l "$HOTROD_ROOT"/dist/hotrod*
