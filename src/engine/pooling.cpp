// Pooling of embedding rows (see pooling.h).
#include "engine/pooling.h"

#include <cmath>

namespace hotrod::engine {

const char* to_string(Pooling p) {
    switch (p) {
        case Pooling::none: return "none";
        case Pooling::mean: return "mean";
        case Pooling::cls: return "cls";
        case Pooling::last: return "last";
    }
    return "?";
}

bool pooling_wants(Pooling p, int pos, int n_prompt) {
    switch (p) {
        case Pooling::none: return false;
        case Pooling::mean: return pos < n_prompt;
        case Pooling::cls: return pos == 0;
        case Pooling::last: return pos == n_prompt - 1;
    }
    return false;
}

void pool_row(Pooling p, std::span<double> acc, std::span<const float> row) {
    for (size_t i = 0; i < acc.size() && i < row.size(); ++i) acc[i] = p == Pooling::mean ? acc[i] + row[i] : row[i];
}

std::vector<float> finish_pooling(Pooling p, std::span<const double> acc, int n_prompt) {
    const double scale = p == Pooling::mean && n_prompt > 0 ? 1.0 / n_prompt : 1.0;
    double sum_sq = 0;
    for (const double v : acc) sum_sq += (v * scale) * (v * scale);
    const double norm = std::sqrt(sum_sq);
    std::vector<float> out(acc.size());
    for (size_t i = 0; i < acc.size(); ++i) out[i] = norm > 0 ? float(acc[i] * scale / norm) : 0.0f;
    return out;
}

}  // namespace hotrod::engine
