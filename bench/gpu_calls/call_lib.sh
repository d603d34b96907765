# Sourced by the calls in this folder (run from the repository root on the GPU machine).
# unpack_pack: the pack (.device/pack.tar.xz) into /tmp/devpack, which a warm machine keeps for the next calls,
# its environment, and SmolLM2's first part (.device/m1/part1) into /tmp/hotrod-models.
# use_pack: the environment of a pack an earlier call on this machine unpacked (exits 3 when there is none).
# join_smollm2: SmolLM2 from part1 and this call's .device/m2/part2; sets m to its path.
# synth_4b_models: the synthetic Qwen3-4B and Qwen3.5-4B Q4_K_M files (q3, q35), written once a machine.
export HOTROD_VOCAB_DIR=/tmp/devpack/vocab HOTROD_MODELS=/tmp/hotrod-models
unpack_pack() {
  rm -rf /tmp/devpack && mkdir -p /tmp/devpack && xz -dc .device/pack.tar.xz | tar -C /tmp/devpack -xf -
  source /tmp/devpack/env.sh
  mkdir -p $HOTROD_MODELS && { [[ ! -f .device/m1/part1 ]] || cp .device/m1/part1 $HOTROD_MODELS/part1; }
  nvidia-smi --query-gpu=name --format=csv,noheader
}
use_pack() {
  [[ -x /tmp/devpack/bin/test_cuda ]] || { echo "no /tmp/devpack: the call that unpacks it did not run on this machine"; exit 3; }
  source /tmp/devpack/env.sh
}
join_smollm2() {
  m=$HOTROD_MODELS/SmolLM2-135M-Instruct.Q4_1.gguf
  [[ -f $m ]] || { cat $HOTROD_MODELS/part1 .device/m2/part2 > $m && rm -f $HOTROD_MODELS/part1; }
}
q3=/tmp/hotrod_gpu_synth_qwen3_4b_q4_k_m.gguf q35=/tmp/hotrod_gpu_synth_qwen35_4b_q4_k_m.gguf
synth_4b_models() {
  [[ -f $q3 ]] || hotrod synth --arch qwen3 --shape 4b --quant q4_k_m --seed 5 --quick-quant \
    --vocab "$HOTROD_VOCAB_DIR/ggml-vocab-qwen2.gguf" -o "$q3" >/dev/null
  [[ -f $q35 ]] || hotrod synth --arch qwen35 --shape 4b --quant q4_k_m --seed 5 --quick-quant \
    --vocab "$HOTROD_VOCAB_DIR/ggml-vocab-qwen35.gguf" --chat-template /tmp/devpack/Qwen3.5-4B.jinja -o "$q35" >/dev/null
}
