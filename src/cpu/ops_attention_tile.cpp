// Prefill tiles of attention (ops_attention.h): how a batch is cut into tiles, the scratch a tile needs, the
// scalar tile reference (the per-token references, so the tiled kernels are held to exactly what the unit
// path computes) and the one-thread tiled driver the tests use.
#include <algorithm>

#include "cpu/ops_attention.h"

namespace hotrod::cpu {

void attention_plan_tiles(const AttentionJob& job, int64_t n_tokens, std::vector<AttentionTile>& tiles) {
    tiles.clear();
    const int max_tokens = attention_tile_tokens(attention_group(job));
    for (int64_t t = 0; t < n_tokens;) {
        int32_t n = 1;
        while (n < max_tokens && t + n < n_tokens && job.token_seq[t + n] == job.token_seq[t] &&
               job.positions[t + n] == job.positions[t + n - 1] + 1) {
            ++n;
        }
        int32_t first = 0, end = 0, unused = 0;
        attention_range(job, t, first, unused);
        attention_range(job, t + n - 1, unused, end);
        tiles.push_back({t, n, end - first});
        t += n;
    }
    std::stable_sort(tiles.begin(), tiles.end(),
                     [](const AttentionTile& a, const AttentionTile& b) { return a.span > b.span; });
}

size_t attention_tile_scratch_floats(const AttentionJob& job, const std::vector<AttentionTile>& tiles) {
    int32_t span = 0;
    for (const AttentionTile& tile : tiles) span = std::max(span, tile.span);
    // The SIMD tiles keep the scores of every row over the span (rounded up to a chunk of 32 positions), Q
    // transposed, one chunk of converted K or V rows, and 64 floats to align them; lone tokens and the
    // reference use G * span through attention_unit.
    const size_t rows = kAttentionTileRows, hd = size_t(job.head_dim);
    const size_t tiled = rows * (size_t(span) + 32) + rows * hd + 32 * hd + 64;
    return std::max(tiled, size_t(attention_group(job)) * size_t(span));
}

void attention_tile_task(const AttentionJob& job, const AttentionKernels& k, const AttentionTile& tile, int g,
                         float* scratch) {
    if (tile.n_tokens == 1) attention_unit(job, k, tile.t0, g, scratch);
    else k.tile(job, tile.t0, tile.n_tokens, g, scratch);
}

void attention_tile_ref(const AttentionJob& job, int64_t t0, int n_tokens, int g, float* scratch) {
    const AttentionKernels ref{attention_scores_ref, attention_values_ref, nullptr};
    for (int64_t t = t0; t < t0 + n_tokens; ++t) attention_unit(job, ref, t, g, scratch);
}

void attention_run_tiled(const AttentionJob& job, int64_t n_tokens, const AttentionKernels& k) {
    if (!k.tile) {
        attention_run(job, n_tokens, k);
        return;
    }
    std::vector<AttentionTile> tiles;
    attention_plan_tiles(job, n_tokens, tiles);
    std::vector<float> scratch(attention_tile_scratch_floats(job, tiles));
    for (const AttentionTile& tile : tiles) {
        for (int g = 0; g < job.n_kv_heads; ++g) attention_tile_task(job, k, tile, g, scratch.data());
    }
}

}  // namespace hotrod::cpu
