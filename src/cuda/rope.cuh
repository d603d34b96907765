// The rotation of one RoPE pair, shared by rope.cu's kernels and the fused attention-input kernel
// (attention_inputs.cu) so both give the same bits.
#pragma once

namespace hotrod::cuda {

// Pair (a, b) of a head rotated by (c, s), each product and the sum rounded on their own.
template <bool kNeox>
__device__ __forceinline__ void rotate_pair(float* head, int i, int half, float c, float s) {
    const int a = kNeox ? i : 2 * i;
    const int b = kNeox ? i + half : 2 * i + 1;
    const float va = head[a], vb = head[b];
    head[a] = __fsub_rn(__fmul_rn(va, c), __fmul_rn(vb, s));
    head[b] = __fadd_rn(__fmul_rn(va, s), __fmul_rn(vb, c));
}

}  // namespace hotrod::cuda
