#!/usr/bin/env bash
# Here (PyPI reachable), before call N: the e2e suite's Python packages as wheels for the GPU machine's python3
# (3.12, manylinux x86_64) into .whl/ (git-ignored; ~25 MB with numpy), which call N carries.
set -euo pipefail
cd "$(dirname "$0")/../.."
rm -rf .whl
python3 -m pip download -q --only-binary=:all: --python-version 3.12 --platform manylinux_2_17_x86_64 \
  --platform manylinux2014_x86_64 --platform manylinux_2_28_x86_64 -d .whl \
  openai==3.57.0 pytest==8.4.1 jsonschema==4.26.0 gguf==0.19.0 jinja2==3.1.6
du -sh .whl
