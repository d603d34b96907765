#!/usr/bin/env bash
# README command 1: install what is missing, build Release, fetch the default model and serve it.
# Extra arguments go to the server.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
install_apt_packages
build_hotrod "$HOTROD_ROOT/build" -DCMAKE_BUILD_TYPE=Release -DHOTROD_BUILD_TESTS=OFF -DHOTROD_BUILD_BENCH=OFF
bash "$HOTROD_ROOT/scripts/fetch-models.sh"
model=$HOTROD_MODELS/SmolLM2-135M-Instruct.Q4_1.gguf
exec "$HOTROD_ROOT/build/bin/hotrod" serve -m "$model" "$@"
