// A batch over a paged KV cache for the CUDA tests that write or read the cache: each sequence's blocks drawn from
// a shuffled pool (so neighbouring positions of a sequence sit in scattered physical blocks), its new tokens'
// positions and batch sequence ids, and the block tables laid out as DeviceKvLayout reads them.
#pragma once

#include <algorithm>
#include <cstdint>
#include <numeric>
#include <random>
#include <vector>

#include "cuda/attention.h"
#include "gpu_test_util.h"

namespace hotrod::cuda::test {

// One sequence of a batch: n_cached positions already in the cache, then this batch's n_query tokens.
struct SeqSpec {
    int n_cached;
    int n_query;
};

struct PagedBatch {
    std::vector<int32_t> tables;  // [sequences x stride], -1 where a sequence has no block
    int stride = 0;
    int total_blocks = 0;         // every sequence's blocks plus the spares
    std::vector<int32_t> positions, token_seq;  // per new token
};

inline PagedBatch paged_batch(const std::vector<SeqSpec>& seqs, int block_size, int spare_blocks, std::mt19937& rng) {
    PagedBatch b;
    b.total_blocks = spare_blocks;
    const auto blocks_of = [&](const SeqSpec& s) { return (s.n_cached + s.n_query + block_size - 1) / block_size; };
    for (const SeqSpec& s : seqs) {
        b.stride = std::max(b.stride, blocks_of(s));
        b.total_blocks += blocks_of(s);
    }
    std::vector<int32_t> perm(static_cast<size_t>(b.total_blocks));
    std::iota(perm.begin(), perm.end(), 0);
    std::shuffle(perm.begin(), perm.end(), rng);
    b.tables.assign(seqs.size() * size_t(b.stride), -1);
    size_t next = 0;
    for (size_t s = 0; s < seqs.size(); ++s) {
        for (int k = 0; k < blocks_of(seqs[s]); ++k) b.tables[s * size_t(b.stride) + size_t(k)] = perm[next++];
        for (int i = 0; i < seqs[s].n_query; ++i) {
            b.positions.push_back(seqs[s].n_cached + i);
            b.token_seq.push_back(int32_t(s));
        }
    }
    return b;
}

// Block tables [sequences x stride] as DeviceKvLayout::block_index holds them: each sequence's offset, then the rows.
inline std::vector<int32_t> block_index(const std::vector<int32_t>& tables, int stride) {
    const size_t n_seqs = stride > 0 ? tables.size() / size_t(stride) : 0;
    std::vector<int32_t> index(n_seqs);
    for (size_t s = 0; s < n_seqs; ++s) index[s] = int32_t(n_seqs + s * size_t(stride));
    index.insert(index.end(), tables.begin(), tables.begin() + std::ptrdiff_t(n_seqs * size_t(stride)));
    return index;
}

// A PagedBatch's index arrays on the device, and the layout naming them.
struct DevicePagedBatch {
    DeviceArray<int32_t> positions, token_seq, tables;
    DeviceKvLayout layout;
    DevicePagedBatch(const PagedBatch& b, int block_size)
        : positions(b.positions), token_seq(b.token_seq), tables(block_index(b.tables, b.stride)) {
        layout.positions = positions.get();
        layout.token_seq = token_seq.get();
        layout.block_index = tables.get();
        layout.block_size = block_size;
        layout.n_tokens = int(b.positions.size());
    }
};

}  // namespace hotrod::cuda::test
