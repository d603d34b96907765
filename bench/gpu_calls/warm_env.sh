# Sourced by the calls that follow A and D on the same warm machine: the unpacked pack (/tmp/devpack) and the peer
# (/tmp/llama-server, /tmp/llama-bench) must be there; sets up the environment the benches read.
[[ -x /tmp/devpack/bin/hotrod && -x /tmp/llama-bench ]] || { echo "no /tmp/devpack or /tmp/llama-bench: calls A and D did not run here"; exit 3; }
export HOTROD_DEVPACK=/tmp/devpack
source /tmp/devpack/env.sh
export HOTROD_VOCAB_DIR=/tmp/devpack/vocab HOTROD_MODELS=/tmp/hotrod-models
export LD_LIBRARY_PATH=/usr/local/cuda/lib64:/usr/local/cuda/lib:${LD_LIBRARY_PATH:-}
