// Scalar dot references of the 32-element formats (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0) against Q8_0 activations.
// Per block: an exact integer sum of q_w * q_x, scaled once by d_w * d_x; the "+ m" formats add m * d_x * sum(q_x),
// the activation block sum taken from the Q8_0 values themselves. Blocks are summed in order in float.
#include <cstring>

#include "quant/blocks.h"
#include "quant/dot_ref.h"
#include "quant/half.h"

namespace hotrod::quant {
namespace {

// Unsigned weight code of element j (0..15 or 0..31) of a 4-bit / 5-bit block.
inline int nibble(const uint8_t* qs, int j) { return j < QK / 2 ? qs[j] & 0xf : qs[j - QK / 2] >> 4; }
inline int fifth_bit(const uint8_t* qh, int j) {
    uint32_t h;
    std::memcpy(&h, qh, 4);
    return int((h >> j) & 1) << 4;
}

// dot of one weight block (codes via `code(j)`, minus `offset`) with a Q8_0 block, and the Q8_0 block sum.
template <class Code>
inline void block_sums(Code code, int offset, const BlockQ8_0& x, int& sum_qx, int& sum_x) {
    sum_qx = 0;
    sum_x = 0;
    for (int j = 0; j < QK; ++j) {
        sum_qx += (code(j) - offset) * x.qs[j];
        sum_x += x.qs[j];
    }
}

// dot of one weight block's codes with the 32 activation codes (the Q8_1 blocks carry their own sum).
template <class Code>
inline void block_dot(Code code, const int8_t* xq, int& sum_qx) {
    for (int j = 0; j < QK; ++j) sum_qx += code(j) * xq[j];
}

}  // namespace

float dot_ref_q4_0(int64_t n, const void* w, const void* x_q8_0) {
    const auto* wb = static_cast<const BlockQ4_0*>(w);
    const auto* xb = static_cast<const BlockQ8_0*>(x_q8_0);
    float sum = 0.0f;
    for (int64_t b = 0; b < n / QK; ++b) {
        int sum_qx, sum_x;
        block_sums([&](int j) { return nibble(wb[b].qs, j); }, 8, xb[b], sum_qx, sum_x);
        sum += fp16_to_fp32(wb[b].d) * fp16_to_fp32(xb[b].d) * float(sum_qx);
    }
    return sum;
}

float dot_ref_q4_1(int64_t n, const void* w, const void* x_q8_1) {
    const auto* wb = static_cast<const BlockQ4_1*>(w);
    const auto* xb = static_cast<const BlockQ8_1*>(x_q8_1);
    float sum = 0.0f;
    for (int64_t b = 0; b < n / QK; ++b) {
        int sum_qx = 0;
        block_dot([&](int j) { return nibble(wb[b].qs, j); }, xb[b].qs, sum_qx);
        sum += fp16_to_fp32(wb[b].d) * xb[b].d * float(sum_qx) + fp16_to_fp32(wb[b].m) * xb[b].s;
    }
    return sum;
}

float dot_ref_q5_0(int64_t n, const void* w, const void* x_q8_0) {
    const auto* wb = static_cast<const BlockQ5_0*>(w);
    const auto* xb = static_cast<const BlockQ8_0*>(x_q8_0);
    float sum = 0.0f;
    for (int64_t b = 0; b < n / QK; ++b) {
        int sum_qx, sum_x;
        block_sums([&](int j) { return nibble(wb[b].qs, j) | fifth_bit(wb[b].qh, j); }, 16, xb[b], sum_qx, sum_x);
        sum += fp16_to_fp32(wb[b].d) * fp16_to_fp32(xb[b].d) * float(sum_qx);
    }
    return sum;
}

float dot_ref_q5_1(int64_t n, const void* w, const void* x_q8_1) {
    const auto* wb = static_cast<const BlockQ5_1*>(w);
    const auto* xb = static_cast<const BlockQ8_1*>(x_q8_1);
    float sum = 0.0f;
    for (int64_t b = 0; b < n / QK; ++b) {
        int sum_qx = 0;
        block_dot([&](int j) { return nibble(wb[b].qs, j) | fifth_bit(wb[b].qh, j); }, xb[b].qs, sum_qx);
        sum += fp16_to_fp32(wb[b].d) * xb[b].d * float(sum_qx) + fp16_to_fp32(wb[b].m) * xb[b].s;
    }
    return sum;
}

float dot_ref_q8_0(int64_t n, const void* w, const void* x_q8_0) {
    const auto* wb = static_cast<const BlockQ8_0*>(w);
    const auto* xb = static_cast<const BlockQ8_0*>(x_q8_0);
    float sum = 0.0f;
    for (int64_t b = 0; b < n / QK; ++b) {
        int sum_qx, sum_x;
        block_sums([&](int j) { return int(wb[b].qs[j]); }, 0, xb[b], sum_qx, sum_x);
        sum += fp16_to_fp32(wb[b].d) * fp16_to_fp32(xb[b].d) * float(sum_qx);
    }
    return sum;
}

}  // namespace hotrod::quant
