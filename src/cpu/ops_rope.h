// Rotary position embedding over token rows of n_heads * head_dim floats, in place. Angles:
// theta(pos, i) = pos * freq_scale * freq_base^(-2i / n_dims), i < n_dims / 2, computed in double and rounded to
// float once per (token, i) into a cos/sin table (rope_table), which every head of the token (and q and k
// alike) then reuses (rope_apply). The rotation itself is float. rope_ref does everything in double.
// Pairing: Normal rotates (2i, 2i+1); NeoX rotates (i, i + n_dims/2). Dimensions >= n_dims are left as is.
#pragma once

#include <cstddef>
#include <cstdint>

#include "backend/backend.h"

namespace hotrod::cpu {

// Table of one token: n_dims / 2 cosines then n_dims / 2 sines. rope_table fills n_tokens of them back to back.
void rope_table(const int32_t* positions, int64_t n_tokens, const backend::RopeParams& p, float* cos_sin);

// Rotates every head of the rows x[t * x_stride ..] (x_stride in floats) with the table of token t.
void rope_apply(float* x, int64_t n_tokens, size_t x_stride, int n_heads, int head_dim, backend::RopeKind kind,
                int n_dims, const float* cos_sin);

// The reference: angles, sin/cos and rotation in double, rounded to float at the end.
void rope_ref(float* x, int64_t n_tokens, size_t x_stride, int n_heads, int head_dim, const int32_t* positions,
              const backend::RopeParams& p);

}  // namespace hotrod::cpu
