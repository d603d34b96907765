# Sourced by the calls in this folder (run from the repository root on the GPU machine).
# unpack_pack: the pack (.device/pack.tar.xz) into /tmp/devpack, which a warm machine keeps for the next calls,
# its environment, and whichever model parts this call carries (stash_parts).
# use_pack: the environment of a pack an earlier call on this machine unpacked (exits 3 when there is none).
# SmolLM2 (98 MB) travels in three parts, because a call's 64 MiB counts the tree and the pack as well:
#   split -b 32800000 -d -a 1 MODEL /tmp/p; mv /tmp/p0 .device/m1/part1; mv /tmp/p1 .device/m2/part2; mv /tmp/p2 .device/m3/part3
# Gemma 3 270M (253 MB) travels in five: .device/g1/gpart1 (25 MB, beside other carries) and g2..g5 (58 MB each, alone):
#   G=gemma-3-270m-q4_k_m.gguf; head -c 25000000 $G > .device/g1/gpart1
#   tail -c +25000001 $G | split -b 58000000 -d -a 1 - /tmp/gp; mv /tmp/gp0 .device/g2/gpart2 (... gp3 -> g5/gpart5)
# stash_parts: the parts this call carries into /tmp/hotrod-models; join_smollm2 / join_gemma: the model once all
# its parts have come (set m / gm to its path).
# synth_4b_models: the synthetic Qwen3-4B and Qwen3.5-4B Q4_K_M files (q3, q35), written once a machine.
# run_cuda_tests FILTER SECONDS FILE: test_cuda's tests matching FILTER into $OUT/FILE, then their verdicts and
# failures (typed tests are AllTypes/Name.*: a filter needs a leading * for them).
export HOTROD_VOCAB_DIR=/tmp/devpack/vocab HOTROD_MODELS=/tmp/hotrod-models
unpack_pack() {
  rm -rf /tmp/devpack && mkdir -p /tmp/devpack && xz -dc .device/pack.tar.xz | tar -C /tmp/devpack -xf -
  source /tmp/devpack/env.sh
  stash_parts
  nvidia-smi --query-gpu=name --format=csv,noheader
}
use_pack() {
  [[ -x /tmp/devpack/bin/test_cuda ]] || { echo "no /tmp/devpack: the call that unpacks it did not run on this machine"; exit 3; }
  source /tmp/devpack/env.sh
}
stash_parts() {
  mkdir -p $HOTROD_MODELS
  for p in .device/m1/part1 .device/m2/part2 .device/m3/part3 .device/g?/gpart?; do [[ ! -f $p ]] || cp $p $HOTROD_MODELS/; done
}
# join_parts MODEL PART...: MODEL (in $HOTROD_MODELS) from its parts once all have come; says what is missing.
join_parts() {
  local d=$HOTROD_MODELS out=$HOTROD_MODELS/$1 p
  shift
  [[ -f $out ]] && return 0
  stash_parts
  for p in "$@"; do [[ -f $d/$p ]] || { echo "$(basename $out): not all parts have come yet ($(ls $d))"; return 0; }; done
  (cd $d && cat "$@" > $out && rm -f "$@")
}
join_smollm2() {
  m=$HOTROD_MODELS/SmolLM2-135M-Instruct.Q4_1.gguf
  join_parts SmolLM2-135M-Instruct.Q4_1.gguf part1 part2 part3
}
q3=/tmp/hotrod_gpu_synth_qwen3_4b_q4_k_m.gguf q35=/tmp/hotrod_gpu_synth_qwen35_4b_q4_k_m.gguf
synth_4b_models() {
  [[ -f $q3 ]] || hotrod synth --arch qwen3 --shape 4b --quant q4_k_m --seed 5 --quick-quant \
    --vocab "$HOTROD_VOCAB_DIR/ggml-vocab-qwen2.gguf" -o "$q3" >/dev/null
  [[ -f $q35 ]] || hotrod synth --arch qwen35 --shape 4b --quant q4_k_m --seed 5 --quick-quant \
    --vocab "$HOTROD_VOCAB_DIR/ggml-vocab-qwen35.gguf" --chat-template /tmp/devpack/Qwen3.5-4B.jinja -o "$q35" >/dev/null
}
run_cuda_tests() {
  timeout "$2" test_cuda --gtest_filter="$1" > "$OUT/$3" 2>&1; echo "tests exit $?"
  grep -E "^\[ +(FAILED|PASSED) +\]|Failure|Expected|Which is|actual|differs|cosine|sequences:" "$OUT/$3" | head -40
}
# workload_beside_peer MODEL NAME SECONDS: the published workload at 1 / 2 / 4 / 8 in flight (80 tokens out, 6
# rounds) on hotrod, hotrod with the tensor-core decode (HOTROD_CUDA_DECODE_MMA=1) and /tmp/llama-server, one run.
workload_beside_peer() {
  local model=$1 name=$2
  mkdir -p $OUT/$name
  timeout $3 hotrod bench --workload /tmp/devpack/workload.json --fixed-length --concurrency 1,2,4,8 --rounds 6 \
    --spawn "hotrod=hotrod serve -m $model --device cuda --parallel 8 -c 16384 --host 127.0.0.1 --port 18081" \
    --spawn "hotrod-mma=env HOTROD_CUDA_DECODE_MMA=1 hotrod serve -m $model --device cuda --parallel 8 -c 16384 --host 127.0.0.1 --port 18083" \
    --spawn "llama-server=/tmp/llama-server -m $model -ngl 99 --parallel 8 -c 16384 --host 127.0.0.1 --port 18082" \
    --log-dir $OUT/$name --json $OUT/bench_$name.json 2>&1 | tail -40
}
join_gemma() {
  gm=$HOTROD_MODELS/gemma-3-270m-q4_k_m.gguf
  [[ -f $gm ]] && return 0
  join_parts gemma-3-270m-q4_k_m.gguf gpart1 gpart2 gpart3 gpart4 gpart5
  if [[ -f $gm ]]; then echo "gemma: $(sha256sum < $gm | cut -c1-16) (want a5fd3b62230aa5ec)"; fi
}
# The wheels for the e2e suite into /tmp/site, from the call that carries .whl (a warm machine keeps /tmp/site).
install_wheels() {
  if compgen -G ".whl/*.whl" > /dev/null; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl
  fi
  [[ -d /tmp/site ]] || echo "no /tmp/site: no call on this machine carried .whl"
  export PYTHONPATH=/tmp/site
}
