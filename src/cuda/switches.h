// The HOTROD_CUDA_* environment switches, read in one place. Each turns a faster path off or picks the
// previous variant, so the GPU machine can compare both in one run (bench/gpu_device_run.sh):
// HOTROD_CUDA_GRAPHS=0, HOTROD_CUDA_FUSE=0 (every fusion), HOTROD_CUDA_FUSE_ATTN=0 (prepare_attention
// unfused), HOTROD_CUDA_FUSE_RESIDUAL=0 (matmul_residual as matmul + add), HOTROD_CUDA_MMA=0 (dp4a prefill tiles) or =int8 (the int8 MMA
// prefill on Q8_K activations, bit-exact per block with the CPU, instead of fp16), HOTROD_CUDA_PDL=0,
// HOTROD_CUDA_PREFETCH=1 turns a path ON (measured slower): decode matmuls and attention ask L2 for weights and
// past K/V before waiting on the previous kernel, HOTROD_CUDA_ATTN_VEC=0 (the decode attention reads V an element a lane, not 16 bytes),
// HOTROD_CUDA_FUSE_ATTN_QUANT=0 (a decode step's attention output quantized by its own launch, not the attention
// kernels), HOTROD_CUDA_DECODE_Q4K=0 (Q4_K decode through the general kernel, not matmul_decode_q4k.cu),
// HOTROD_CUDA_DECODE_Q4K_ROWS=2|4 (that kernel's output rows a warp, x read once for them; default 1),
// HOTROD_CUDA_BATCH_INVARIANT=0 (kernels chosen by a step's row counts, not by its tokens' kinds: see
// ARCHITECTURE, batch invariance), HOTROD_CUDA_DECODE_MAX_ROWS=N (1-16: under the row-count rule, matmuls of more
// rows take the prefill kernels; default 16),
// HOTROD_CUDA_DECODE_MMA=1 turns a path ON (Q4_K / Q6_K decode rows of the matrices of 8448+ rows on int8 tensor
// cores, matmul_decode_mma.cu, not the dp4a kernel; =all: every Q4_K / Q6_K matrix; =rows: every one from two
// rows (Q6_K's 8-warp shapes from four), the dp4a kernel below: the same bits, so batch-invariant), HOTROD_CUDA_DECODE_MMA_WARPS=4|8,
// HOTROD_CUDA_DECODE=plain, HOTROD_CUDA_DECODE_GROUP=16 (16 lanes a K super-block at 1-2 token rows, not 4: measured slower),
// HOTROD_CUDA_F16_TOKS=64|128 (the fp16 prefill's tile height, else chosen by the grid),
// HOTROD_CUDA_DELTA=recurrent (the delta rule's token loop for every run), HOTROD_CUDA_ATTN_SPLIT=0 (one block a
// prefill attention tile, its positions not split), HOTROD_CUDA_F16_ROUND=0 (the fp16 prefill's x converted
// directly, not first rounded to the activation format's 8-bit grid). HOTROD_CUDA_ARGMAX=1 turns a path ON
// (same texts, no faster on an H100, session 14): greedy-only steps' arg-max on the device (argmax.cu) instead of
// the rows copied to the host.
#pragma once

namespace hotrod::cuda {

// Whether the variable `name` is set to "0".
bool switch_off(const char* name);
// Whether the variable `name` is set to exactly `value`.
bool switch_is(const char* name, const char* value);
// The variable `name` as a whole number in [lo, hi]; fallback when unset or anything else.
long switch_int(const char* name, long lo, long hi, long fallback);

}  // namespace hotrod::cuda
