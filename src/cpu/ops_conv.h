// Causal depthwise conv1d with a carried state (the input mixing of gated delta net layers): the scalar
// reference of the whole op and the blocked kernel the backend runs per (sequence, block of channels). Which
// tokens belong to which sequence, the slots and the threading are cpu_backend_recurrent.cpp's.
#pragma once

#include <cstddef>
#include <cstdint>

namespace hotrod::cpu {

// One call's tensors as pointers and strides (in floats). x and out: token t's channel c at [t*stride + c];
// w: channel c's K taps at w[c*K ..], tap K-1 for the current token; state: slot s at state + s*state_stride,
// K-1 rows of n_channels, oldest first.
struct ConvJob {
    const float* x = nullptr;
    size_t x_stride = 0;
    const float* w = nullptr;
    float* state = nullptr;
    size_t state_stride = 0;
    float* out = nullptr;
    size_t out_stride = 0;
    int64_t n_channels = 0;
    int kernel = 0;
    bool silu = false;
};

// The whole op in plain loops: every sequence's tokens [seq_first[s], seq_first[s+1]) with slot slots[s];
// starts_fresh[s]: its state is zero (its first position is 0). out may equal x.
void conv1d_causal_ref(const ConvJob& job, const int32_t* seq_first, const int32_t* slots, const bool* starts_fresh,
                       int n_seqs);

// The channels [c0, c1) of one sequence's tokens [t0, t1) (c1 - c0 <= kConvBlock), its slot row `state`: a window
// of the last K-1 inputs in registers-sized local arrays, so each x row is read once and out may equal x.
constexpr int64_t kConvBlock = 64;
constexpr int kConvMaxKernel = 8;
void conv1d_causal_block(const ConvJob& job, int64_t t0, int64_t t1, float* state, bool fresh, int64_t c0, int64_t c1);

}  // namespace hotrod::cpu
