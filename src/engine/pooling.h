// Pooling for embedding requests: the final-normed hidden rows of a prompt, handed over step by step as its
// chunks are run, become one vector. Mean sums the rows as they come (a long prompt is split into chunks, and
// no chunk's rows outlive its step); cls keeps the first position's row, last the last one's. The result is
// L2-normalised, as llama-server (embd_normalize 2) and OpenAI return embeddings.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "engine/engine.h"

namespace hotrod::engine {

// Whether the row of prompt position pos (of n_prompt) is one the pooling reads.
bool pooling_wants(Pooling p, int pos, int n_prompt);

// Folds a wanted row into acc (n_embd values, zeroed before the prompt's first row): mean adds it, cls and last
// keep it.
void pool_row(Pooling p, std::span<double> acc, std::span<const float> row);

// acc after every wanted row: divided by the row count for mean, then scaled to unit L2 norm (a zero vector
// stays zero). Accumulated in double: a mean over thousands of rows loses no precision to float sums.
std::vector<float> finish_pooling(Pooling p, std::span<const double> acc, int n_prompt);

}  // namespace hotrod::engine
