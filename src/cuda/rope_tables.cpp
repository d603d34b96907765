#include "cuda/rope_tables.h"

#include <algorithm>
#include <stdexcept>

#include "cuda/check.h"
#include "cuda/ops.h"

namespace hotrod::cuda {

RopeTables::~RopeTables() {
    for (float* p : all_) cudaFree(p);  // no throwing from a destructor
}

const float* RopeTables::get(int n_dims, float freq_base, float freq_scale, int32_t max_position,
                             cudaStream_t stream) {
    if (max_position < 0) throw std::invalid_argument("cuda rope: negative position");
    auto it = std::find_if(tables_.begin(), tables_.end(), [&](const Table& t) {
        return t.n_dims == n_dims && t.freq_base == freq_base && t.freq_scale == freq_scale;
    });
    if (it != tables_.end() && max_position < it->n_positions) return it->data;
    int n = it != tables_.end() ? it->n_positions : 4096;
    while (n <= max_position) n = n > (1 << 29) ? max_position + 1 : 2 * n;
    float* data = nullptr;
    HOTROD_CUDA_CHECK(cudaMalloc(reinterpret_cast<void**>(&data), size_t(n) * size_t(n_dims) * sizeof(float)));
    all_.push_back(data);
    rope_fill_table(data, n, n_dims, freq_base, freq_scale, stream);
    if (it != tables_.end()) {
        it->n_positions = n;
        it->data = data;
    } else {
        tables_.push_back({n_dims, freq_base, freq_scale, n, data});
    }
    return data;
}

}  // namespace hotrod::cuda
