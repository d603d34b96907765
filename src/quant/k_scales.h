// The packed sub-block scales of the K formats, in one place so dequantize, quantize and the dot references agree.
// Q4_K/Q5_K: 8 six-bit scales and 8 six-bit mins in 12 bytes. Bytes 0-3 hold scales 0-3 (low 6 bits) and the
// top 2 bits of scales 4-7; bytes 4-7 the same for the mins; bytes 8-11 the low 4 bits of scale (low nibble)
// and min (high nibble) 4-7. Q3_K: 16 six-bit scales (stored +32) in 12 bytes: low nibbles in bytes 0-7
// (scale k < 8 in the low nibble of byte k, k >= 8 in the high nibble of byte k-8), top 2 bits in bytes 8-11.
#pragma once

#include <cstdint>

namespace hotrod::quant {

// Scale and min of sub-block j (0..7) of a Q4_K/Q5_K block.
inline void unpack_scale_min_k4(const uint8_t* s, int j, int& scale, int& min) {
    if (j < 4) {
        scale = s[j] & 63;
        min = s[j + 4] & 63;
    } else {
        scale = (s[j + 4] & 0xF) | ((s[j - 4] >> 6) << 4);
        min = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
    }
}

// Inverse of unpack_scale_min_k4; every scale[j], min[j] must be in 0..63.
inline void pack_scale_min_k4(const uint8_t scale[8], const uint8_t min[8], uint8_t* s) {
    for (int j = 0; j < 4; ++j) {
        s[j] = uint8_t((scale[j] & 63) | ((scale[j + 4] >> 4) << 6));
        s[j + 4] = uint8_t((min[j] & 63) | ((min[j + 4] >> 4) << 6));
        s[j + 8] = uint8_t((scale[j + 4] & 0xF) | ((min[j + 4] & 0xF) << 4));
    }
}

// The 16 signed scales (-32..31) of a Q3_K block.
inline void unpack_scales_q3_k(const uint8_t* s, int scales[16]) {
    for (int k = 0; k < 16; ++k) {
        const int low = (s[k % 8] >> (4 * (k / 8))) & 0xF;
        const int high = (s[8 + k % 4] >> (2 * (k / 4))) & 3;
        scales[k] = (low | (high << 4)) - 32;
    }
}

// Inverse of unpack_scales_q3_k; every scales[k] must be in -32..31.
inline void pack_scales_q3_k(const int scales[16], uint8_t* s) {
    for (int i = 0; i < 12; ++i) s[i] = 0;
    for (int k = 0; k < 16; ++k) {
        const int u = scales[k] + 32;
        s[k % 8] = uint8_t(s[k % 8] | ((u & 0xF) << (4 * (k / 8))));
        s[8 + k % 4] = uint8_t(s[8 + k % 4] | (((u >> 4) & 3) << (2 * (k / 4))));
    }
}

}  // namespace hotrod::quant
