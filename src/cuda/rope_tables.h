// The backend's RoPE angle tables (ops.h rope_fill_table): one per (n_dims, freq_base, freq_scale) a model uses,
// covering positions [0, n) and grown (doubled, at least to the position asked for) when a step reaches past it.
// A grown table is a new allocation; the old one stays until the backend goes, because a captured step graph may
// still name it (step_graph.h replays only records equal byte for byte, so a graph with the old pointer is never
// replayed for a step that needs the larger table, but it must stay valid while it exists).
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>
#include <vector>

namespace hotrod::cuda {

class RopeTables {
public:
    RopeTables() = default;
    ~RopeTables();
    RopeTables(const RopeTables&) = delete;
    RopeTables& operator=(const RopeTables&) = delete;

    // A table for these parameters holding at least positions [0, max_position]; a new one is filled on `stream`
    // (in stream order before any later launch that reads it).
    const float* get(int n_dims, float freq_base, float freq_scale, int32_t max_position, cudaStream_t stream);

private:
    struct Table {
        int n_dims;
        float freq_base, freq_scale;
        int n_positions;
        float* data;
    };
    std::vector<Table> tables_;
    std::vector<float*> all_;  // every allocation, freed at the end
};

}  // namespace hotrod::cuda
