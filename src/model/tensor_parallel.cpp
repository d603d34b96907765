// The tensor-parallel cut (tensor_parallel.h): which weights split along which axis, and the per-rank Config.
#include "model/tensor_parallel.h"

#include <string>

#include "quant/types.h"

namespace hotrod::model {

namespace {

enum class Cut { Replicated, OutRows, InCols };
enum class Width { QHeads, KvHeads, Ff };

struct Rule {
    TensorView LayerWeights::*field;
    Cut cut;
    Width width;
};

// Every split tensor; any other is replicated. Biases are (1, width) rows: their "output rows" are columns.
constexpr Rule kRules[] = {
    {&LayerWeights::attn_q, Cut::OutRows, Width::QHeads},      {&LayerWeights::attn_q_bias, Cut::OutRows, Width::QHeads},
    {&LayerWeights::attn_k, Cut::OutRows, Width::KvHeads},     {&LayerWeights::attn_k_bias, Cut::OutRows, Width::KvHeads},
    {&LayerWeights::attn_v, Cut::OutRows, Width::KvHeads},     {&LayerWeights::attn_v_bias, Cut::OutRows, Width::KvHeads},
    {&LayerWeights::ffn_gate, Cut::OutRows, Width::Ff},        {&LayerWeights::ffn_up, Cut::OutRows, Width::Ff},
    {&LayerWeights::attn_output, Cut::InCols, Width::QHeads},  {&LayerWeights::ffn_down, Cut::InCols, Width::Ff},
};

int64_t full_width(const Config& c, Width w) {
    switch (w) {
        case Width::QHeads: return int64_t(c.n_heads) * c.head_dim;
        case Width::KvHeads: return int64_t(c.n_kv_heads) * c.head_dim;
        case Width::Ff: return c.n_ff;
    }
    return 0;
}

// Columns [first, first + count) of every row: same rows and row stride, a narrower view starting later.
TensorView column_range(const TensorSpec& spec, const TensorView& v, int64_t first, int64_t count) {
    const auto skip = quant::row_bytes(v.type, first), keep = quant::row_bytes(v.type, count);
    if (!skip || !keep) {
        throw Error("tensor parallel: " + spec.name + ": columns " + std::to_string(first) + ".." +
                    std::to_string(first + count) + " of a rank do not fall on " +
                    std::string(quant::type_name(v.type)) + " block boundaries (" +
                    std::to_string(quant::type_info(v.type).block_size) + " elements)");
    }
    TensorView out = v;
    out.data = static_cast<char*>(v.data) + *skip;
    out.n_cols = count;
    return out;
}

}  // namespace

Config shard_config(const Config& full, int tp_size) {
    if (tp_size < 1) throw Error("tensor parallel: size " + std::to_string(tp_size) + " (expected 1 or more)");
    if (tp_size == 1) return full;
    const std::string what = "tensor parallel over " + std::to_string(tp_size) + " ranks: ";
    if (full.delta_net.n_v_heads > 0 || full.attn_output_gate)
        throw Error(what + "the gated delta-net layers of " + full.arch + " are not split (only attention models are)");
    if (full.n_kv_heads % tp_size != 0)
        throw Error(what + std::to_string(full.n_kv_heads) + " KV heads do not divide evenly (the KV cache is split by head)");
    if (full.n_ff % tp_size != 0)
        throw Error(what + "feed_forward_length " + std::to_string(full.n_ff) + " does not divide evenly");
    Config c = full;
    c.n_heads = full.n_heads / tp_size;
    c.n_kv_heads = full.n_kv_heads / tp_size;
    c.n_ff = full.n_ff / tp_size;
    return c;
}

TensorView shard_weight(const TensorSpec& spec, const TensorView& full, const Config& c, TensorParallel tp) {
    if (tp.size == 1 || spec.layer < 0) return full;  // embeddings, final norm, output head: replicated
    for (const Rule& r : kRules) {
        if (r.field != spec.field) continue;
        const int64_t width = full_width(c, r.width), count = width / tp.size, first = count * tp.rank;
        if (r.cut == Cut::InCols || spec.is_norm_or_bias()) return column_range(spec, full, first, count);
        return full.rows(first, count);
    }
    return full;
}

}  // namespace hotrod::model
