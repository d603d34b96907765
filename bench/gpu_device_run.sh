#!/usr/bin/env bash
# What a run on the lent GPU machine executes (see docs/DEVELOPERS.md): binaries packed here with
# ../shared/tools/device-pack into .device/ (plus .device/vocab/ and, when measuring the peer,
# .device/peers/llama-server-cuda-sm90a.xz), results written under $OUT. Stages, in the order given:
#   tests   test_cuda (kernels vs CPU references, whole model GPU vs CPU; models from $HOTROD_MODELS)
#   perf    hotrod perf (pp512 / tg128) on the GPU for every model present, and the device copy bandwidth
#   kernels bench_cuda_matmul: each matmul path alone on Qwen3-4B's weight shapes, against the copy bandwidth
#   profile ncu's per-kernel time summary of a prefill (512 tokens) and of decode steps (first 4000 kernels each) on the synthetic Qwen3-4B
#   ppl     hotrod perplexity on the CPU and on the GPU, same text and model
#   peer    llama-server (CUDA) beside hotrod serve on the synthetic Qwen3-4B: pp/tg from /completion timings
#           and `hotrod bench --fixed-length` of both servers on the published workload (PEER_RAW_ONLY=1: pp/tg only)
#   e2e     the pytest suite against hotrod serve --device cuda (wheels from .whl/)
#   bisect  GTEST_FILTER's tests under each HOTROD_CUDA_* switch alone and all together (default: SmolLM2's checks)
#   qwen35  synthetic Qwen3.5-4B on the GPU: hotrod perf (pp512/tg128, pp8192), the hybrid prefix cache's TTFT
#           (bench/hybrid_prefix_ttft.py) and llama-server beside it (gpu_vs_llama_server.sh)
#   usage: bash bench/gpu_device_run.sh STAGE...
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
# bench/device_pack.sh's archive, when it came instead of the unpacked tree.
# HOTROD_DEVPACK: an unpacked pack elsewhere (bench/gpu_calls/ unpack it into /tmp/devpack, which outlives calls).
pack=${HOTROD_DEVPACK:-$root/.device}
[[ -z ${HOTROD_DEVPACK:-} && -f .device/pack.tar.xz ]] && xz -dc .device/pack.tar.xz | tar -C .device -xf -
source "$pack/env.sh"
export HOTROD_VOCAB_DIR=$pack/vocab HOTROD_MODELS=${HOTROD_MODELS:-/tmp/hotrod-models}
OUT=${OUT:-/tmp/out}
mkdir -p "$OUT" "$HOTROD_MODELS"
synth=/tmp/hotrod_gpu_synth_qwen3_4b_q4_k_m.gguf  # the file GpuModel.SynthQwen3_4BMatchesCpu writes
log() { printf '== %s (%s)\n' "$*" "$(date +%T)"; }

make_synth() {
  [[ -f $synth ]] && return
  log "synth Qwen3-4B Q4_K_M"
  # --quick-quant: the same shapes and formats without the K scale search (~2 of the ~3 device minutes it took).
  hotrod synth --arch qwen3 --shape 4b --quant q4_k_m --seed 5 --quick-quant \
    --vocab "$HOTROD_VOCAB_DIR/ggml-vocab-qwen2.gguf" -o "$synth"
}

copy_bandwidth() {
  python3 - <<'PY'
import torch
x = torch.empty(2 << 30, dtype=torch.uint8, device="cuda"); y = torch.empty_like(x)
for _ in range(3): y.copy_(x)
s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
ts = []
for _ in range(10):
    s.record(); y.copy_(x); e.record(); torch.cuda.synchronize(); ts.append(s.elapsed_time(e) / 1000)
ts.sort(); t = ts[len(ts) // 2]
print(f"device copy bandwidth (read + write, median of 10 x 2 GiB): {2 * x.numel() / t / 1e9:.0f} GB/s")
PY
}

for stage in "$@"; do
  case $stage in
    tests)
      log "test_cuda"
      # The whole log goes to a file first: a `| head` on the live output would end the tests with SIGPIPE.
      timeout 420 test_cuda ${GTEST_FILTER:+--gtest_filter=$GTEST_FILTER} >"$OUT/test_cuda.log" 2>&1; echo "test_cuda exit $?"
      grep -E "^\[ +(FAILED|PASSED|SKIPPED) +\]|^  |Failure" "$OUT/test_cuda.log" | head -80
      # The whole-model tests again with the prefill's activations quantized as the CPU's (their tight bounds).
      log "test_cuda GpuModel.* with HOTROD_CUDA_MMA=int8"
      HOTROD_CUDA_MMA=int8 timeout 300 test_cuda --gtest_filter='GpuModel.*' >"$OUT/test_cuda_int8.log" 2>&1
      echo "test_cuda (int8 prefill) exit $?"
      grep -E "^\[ +(FAILED|PASSED) +\]|^  |Failure" "$OUT/test_cuda_int8.log" | head -30
      ;;
    perf)
      nvidia-smi --query-gpu=name,memory.total,clocks.max.sm,clocks.max.mem --format=csv | tee "$OUT/gpu.txt"
      copy_bandwidth | tee -a "$OUT/gpu.txt"
      make_synth
      for m in "$synth" "$HOTROD_MODELS"/*.gguf; do
        [[ -f $m ]] || continue
        log "hotrod perf $(basename "$m")"
        timeout 300 hotrod perf -m "$m" -p 512 -n 128 -r 3 --device cuda 2>&1 | tee -a "$OUT/perf.txt"
      done
      # Each switch alone (src/cuda/switches.h), then all the previous paths together. PERF_SWITCHES=0: none;
      # PERF_SWITCHES="A=0 B=0": those, each alone.
      [[ ${PERF_SWITCHES:-} == 0 ]] && continue
      switches=(HOTROD_CUDA_PDL=0 HOTROD_CUDA_GRAPHS=0 HOTROD_CUDA_ROPE_TABLE=0
        HOTROD_CUDA_MMA=int8
        "HOTROD_CUDA_PDL=0 HOTROD_CUDA_GRAPHS=0 HOTROD_CUDA_FUSE=0 HOTROD_CUDA_DECODE=plain HOTROD_CUDA_MMA=0 HOTROD_CUDA_ROPE_TABLE=0")
      [[ -n ${PERF_SWITCHES:-} ]] && read -r -a switches <<<"$PERF_SWITCHES"
      for sw in "${switches[@]}"; do
        log "hotrod perf with $sw"
        env $sw timeout 300 hotrod perf -m "$synth" -p 512 -n 128 -r 3 --device cuda 2>&1 | grep -E "^(pp|tg)" \
          | sed "s/^/$sw: /" | tee -a "$OUT/perf.txt"
      done
      ;;
    kernels)
      log "bench_cuda_matmul"
      timeout 240 bench_cuda_matmul 2>&1 | tee "$OUT/kernels.txt"
      for kind in plain staged; do
        log "bench_cuda_matmul, decode kernel $kind, dp4a prefill (HOTROD_CUDA_DECODE=$kind HOTROD_CUDA_MMA=0)"
        HOTROD_CUDA_DECODE=$kind HOTROD_CUDA_MMA=0 timeout 240 bench_cuda_matmul Q4_K:9728x2560 Q6_K:2560x9728 \
          Q4_K:1024x2560 Q6_K:151936x2560 Q4_1:1536x576 2>&1 | tee "$OUT/kernels-$kind.txt"
      done
      ;;
    profile)
      make_synth
      for shape in "-p 512 -n 1" "-p 8 -n 8"; do
        log "ncu: hotrod perf $shape"
        # --clock-control none: the clocks stay as the card runs them (METHOD.md). One metric, one pass a kernel.
        timeout 150 ncu --clock-control none --metrics gpu__time_duration.sum --print-summary per-kernel -c 4000 \
          hotrod perf -m "$synth" $shape -r 1 --device cuda >"$OUT/ncu${shape// /}.txt" 2>&1
        echo "ncu exit $?"
        grep -E "^  [a-zA-Z_].*\(|gpu__time_duration|invocations|Invocations" "$OUT/ncu${shape// /}.txt" | head -120
      done
      ;;
    ppl)
      # GPU and CPU perplexity on the same text: the synthetic models (the real ones do not travel in one run).
      make_synth
      tiny=/tmp/hotrod_ppl_tiny.gguf
      hotrod synth --arch qwen3 --shape tiny --quant q4_k_m --seed 11 --vocab "$HOTROD_VOCAB_DIR/ggml-vocab-qwen2.gguf" \
        -o "$tiny" >/dev/null
      for m in "$tiny" "$synth" "$HOTROD_MODELS"/*.gguf; do
        [[ -f $m ]] || continue
        for d in cpu cuda; do
          printf '%s %s: ' "$(basename "$m")" "$d" | tee -a "$OUT/ppl.txt"
          timeout 120 hotrod perplexity -m "$m" -f tests/fixtures/perplexity/hotrod-docs.txt -c 256 --chunks 6 \
            --device $d 2>&1 | grep "Final estimate" | tee -a "$OUT/ppl.txt"
        done
      done
      ;;
    qwen35)
      # Qwen3.5-4B's shape (synthetic, Q4_K_M mix, its vocabulary and template): GPU speed beside llama-server,
      # and the hybrid prefix cache's time to first token.
      q35=/tmp/hotrod_gpu_synth_qwen35_4b_q4_k_m.gguf
      [[ -f $q35 ]] || hotrod synth --arch qwen35 --shape 4b --quant q4_k_m --seed 5 --quick-quant \
        --vocab "$HOTROD_VOCAB_DIR/ggml-vocab-qwen35.gguf" --chat-template "$pack/Qwen3.5-4B.jinja" -o "$q35"
      log "hotrod perf qwen35 4b"
      timeout 300 hotrod perf -m "$q35" -p 512 -n 128 -r 3 --device cuda 2>&1 | tee "$OUT/qwen35_perf.txt"
      timeout 300 hotrod perf -m "$q35" -p 8192 -n 0 -r 2 --ubatch-size 512 --device cuda 2>&1 | grep -E "^pp" \
        | tee -a "$OUT/qwen35_perf.txt"
      log "hybrid prefix TTFT"
      timeout 300 python3 "$root/bench/hybrid_prefix_ttft.py" "$q35" --hotrod "$(command -v hotrod)" \
        --extra "--device cuda" 2>&1 | tee "$OUT/qwen35_ttft.txt"
      # PP_LONG: the peer's prefill at 8,192 tokens beside hotrod's pp8192 above.
      PP_LONG=8192 PEER_RAW_ONLY=${PEER_RAW_ONLY:-0} bash "$root/bench/gpu_vs_llama_server.sh" "$q35" "$OUT" 2>&1 \
        | tee "$OUT/qwen35_peer.txt"
      ;;
    bisect)
      # GTEST_FILTER's tests (default: SmolLM2's GPU checks) under each switch alone, then all together: which
      # path a failure follows (session 9: SmolLM2MatchesCpu and BatchedEqualsAloneSmolLM2 failed on an H100 with
      # either prefill matmul, so neither is the cause).
      filter=${GTEST_FILTER:-GpuModel.SmolLM2MatchesCpu:GpuModel.BatchedEqualsAloneSmolLM2}
      for sw in X=1 HOTROD_CUDA_ROPE_TABLE=0 HOTROD_CUDA_GRAPHS=0 HOTROD_CUDA_PDL=0 HOTROD_CUDA_FUSE=0 \
        HOTROD_CUDA_DECODE=plain HOTROD_CUDA_MMA=0 HOTROD_CUDA_MMA=int8 HOTROD_CUDA_DELTA=recurrent \
        "HOTROD_CUDA_PDL=0 HOTROD_CUDA_GRAPHS=0 HOTROD_CUDA_FUSE=0 HOTROD_CUDA_DECODE=plain HOTROD_CUDA_MMA=0 HOTROD_CUDA_ROPE_TABLE=0"; do
        log "test_cuda $filter with $sw"
        env $sw timeout 120 test_cuda --gtest_filter="$filter" 2>&1 | grep -E "cosine|sequences|actual|OK \]|FAILED  \] [A-Z]" \
          | tee -a "$OUT/bisect.txt"
      done
      ;;
    peer)
      make_synth
      bash "$root/bench/gpu_vs_llama_server.sh" "$synth" "$OUT" 2>&1 | tee "$OUT/peer.txt"
      ;;
    e2e)
      python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
        && export PYTHONPATH=/tmp/site
      HOTROD_BUILD_DIR=$pack HOTROD_GPU_E2E=1 HOTROD_TEST_CUDA=/bin/true HOTROD_PYTHON=python3 \
        timeout 500 bash scripts/test-gpu.sh 2>&1 | tail -40 | tee "$OUT/e2e.txt"
      ;;
    *) echo "unknown stage $stage" >&2; exit 2 ;;
  esac
done
