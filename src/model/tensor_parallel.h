// Tensor parallelism (Megatron-style): how one model is cut across the ranks of a group, each rank holding a
// slice of every layer. Attention is split by KV heads (each rank owns n_kv_heads / N of them and their query
// heads, so its KV cache holds only its heads); the FFN by columns of n_ff. The products that produce those heads
// or columns (q, k, v and their biases, gate, up) are column-parallel: a rank keeps a range of their output rows.
// The products that consume them (attention output, FFN down) are row-parallel: a rank keeps a range of their
// input columns, so its product is a partial sum, and the model's Backend::all_reduce after each adds the ranks'
// partials. Everything else (norms, QK-norm weights, embeddings, the output head) is replicated: every rank then
// holds the same residual stream after each all-reduce and computes the same logits, so sampling needs no gather
// (the output head is read whole on every rank: for a 32B-shaped model 0.6 GB of Q6_K a rank, the price of not
// gathering a vocabulary-wide logits row each step).
#pragma once

#include "model/config.h"
#include "model/weights.h"

namespace hotrod::model {

// The Config one rank sees: n_heads, n_kv_heads and n_ff divided by tp_size, the rest unchanged. Throws Error
// naming what does not divide (KV heads, FFN columns) or what cannot be split (delta-net layers).
Config shard_config(const Config& full, int tp_size);

// Rank tp.rank's part of one weight, from the full tensor's host view (spec: its manifest entry, shapes of the full
// model): a range of rows for a column-parallel tensor, a range of columns (the same rows, a narrower view with
// the full row stride) for a row-parallel one, the view itself when replicated. Throws Error when a column range
// does not start and end on the format's block boundaries.
TensorView shard_weight(const TensorSpec& spec, const TensorView& full, const Config& c, TensorParallel tp);

}  // namespace hotrod::model
