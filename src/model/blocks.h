// Small blocks shared by the family forwards: bias rows, the q/k/v projections, the gated FFN, and the logits tail (gather the rows
// that want logits, final norm, output projection). Each is a few Backend calls; the arch files stay readable.
#pragma once

#include "model/arch.h"

namespace hotrod::model {

// t[r] += bias for every row r (the Backend's add is elementwise over equal shapes, so one call per row).
void add_bias(backend::Backend& be, TensorView t, const TensorView& bias);

// q, k and v of the normed input into s.a.q / k / v (one shared-x call: one launch for the three).
void qkv_projections(Step& s, const LayerWeights& L, const TensorView& xn);

// hidden = act(gate_proj(xn)) * up_proj(xn); out = down_proj(hidden) (all-reduced over a tensor-parallel group).
void gated_ffn(Step& s, const LayerWeights& L, const TensorView& xn, TensorView out);
// The same added to the residual stream x in one op (Backend::matmul_residual: out is scratch, maybe unwritten).
void gated_ffn_residual(Step& s, const LayerWeights& L, const TensorView& xn, TensorView out, TensorView x);

// The forward's tail. logits = output · final_norm(x[logit_rows]); norming only the gathered rows is the same
// maths, cheaper. Embeddings: embd_xn = final_norm(x[embd_rows]), the state llama.cpp's embeddings read for a
// decoder (its result_norm), gathered apart from the logits rows so a prompt's every row can be pooled without
// paying the output projection for them.
void output_logits(Step& s);

}  // namespace hotrod::model
