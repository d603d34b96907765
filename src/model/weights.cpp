// Manifest building and the weight loader: every tensor checked against its spec before a view is made.
#include "model/weights.h"

#include "gguf/reader.h"
#include "model/tensor_parallel.h"
#include "quant/types.h"

namespace hotrod::model {

void Manifest::global(std::string name, std::vector<int64_t> shape, TensorView Weights::*dst, bool optional) {
    TensorSpec s;
    s.name = std::move(name);
    s.shape = std::move(shape);
    s.global = dst;
    s.optional = optional;
    specs_.push_back(std::move(s));
}

void Manifest::layer(int il, std::string_view name_suffix, std::vector<int64_t> shape,
                     TensorView LayerWeights::*dst) {
    TensorSpec s;
    s.name = "blk." + std::to_string(il) + "." + std::string(name_suffix);
    s.shape = std::move(shape);
    s.layer = il;
    s.field = dst;
    specs_.push_back(std::move(s));
}

Manifest common_manifest(const Config& c) {
    Manifest m;
    const int64_t q_width = int64_t(c.n_heads) * c.head_dim;
    const int64_t kv_width = int64_t(c.n_kv_heads) * c.head_dim;
    m.global("token_embd.weight", {c.n_embd, c.n_vocab}, &Weights::token_embd);
    m.global("output_norm.weight", {c.n_embd}, &Weights::output_norm);
    m.global("output.weight", {c.n_embd, c.n_vocab}, &Weights::output, /*optional=*/true);
    for (int il = 0; il < c.n_layers; ++il) {
        m.layer(il, "attn_norm.weight", {c.n_embd}, &LayerWeights::attn_norm);
        m.layer(il, "attn_q.weight", {c.n_embd, q_width}, &LayerWeights::attn_q);
        m.layer(il, "attn_k.weight", {c.n_embd, kv_width}, &LayerWeights::attn_k);
        m.layer(il, "attn_v.weight", {c.n_embd, kv_width}, &LayerWeights::attn_v);
        m.layer(il, "attn_output.weight", {q_width, c.n_embd}, &LayerWeights::attn_output);
        m.layer(il, "ffn_norm.weight", {c.n_embd}, &LayerWeights::ffn_norm);
        m.layer(il, "ffn_gate.weight", {c.n_embd, c.n_ff}, &LayerWeights::ffn_gate);
        m.layer(il, "ffn_up.weight", {c.n_embd, c.n_ff}, &LayerWeights::ffn_up);
        m.layer(il, "ffn_down.weight", {c.n_ff, c.n_embd}, &LayerWeights::ffn_down);
    }
    return m;
}

namespace {

std::string shape_text(std::span<const int64_t> shape) {
    std::string s = "[";
    for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
    return s + "]";
}

TensorView host_view(const gguf::TensorInfo& t) {
    TensorView v;
    v.type = t.type;
    v.data = const_cast<std::byte*>(t.data);  // read-only mapping: backends never write weights
    v.n_cols = t.dims[0];
    v.n_rows = t.n_rows();
    v.row_bytes = quant::row_bytes(t.type, t.dims[0]).value_or(0);
    return v;
}

}  // namespace

Weights load_weights(const gguf::File& file, const std::vector<TensorSpec>& specs, const Config& c,
                     backend::Backend& be, const std::function<void(size_t, size_t)>& on_progress,
                     TensorParallel tp) {
    Weights w;
    w.layers.resize(size_t(c.n_layers));
    size_t total = 0, done = 0;
    for (const TensorSpec& s : specs)
        if (const gguf::TensorInfo* t = file.find_tensor(s.name)) total += t->n_bytes;
    for (const TensorSpec& s : specs) {
        const gguf::TensorInfo* t = file.find_tensor(s.name);
        if (!t) {
            if (s.optional) continue;
            throw Error(file.path() + ": tensor " + s.name + ": missing (expected shape " + shape_text(s.shape) + ")");
        }
        // A trailing dimension of 1 is the same tensor (a 1-D norm stored as [n, 1]).
        std::vector<int64_t> found(t->shape().begin(), t->shape().end());
        while (found.size() > s.shape.size() && found.back() == 1) found.pop_back();
        if (found != s.shape)
            throw Error(file.path() + ": tensor " + s.name + ": expected shape " + shape_text(s.shape) + ", found " +
                        shape_text(t->shape()));
        if (s.is_norm_or_bias() && t->type != quant::DType::F32)
            throw Error(file.path() + ": tensor " + s.name + ": expected type F32, found " +
                        std::string(quant::type_name(t->type)));
        if (!quant::type_info(t->type).can_dequantize)
            throw Error(file.path() + ": tensor " + s.name + ": type " + std::string(quant::type_name(t->type)) +
                        " is not supported");
        const TensorView v = be.weight(shard_weight(s, host_view(*t), c, tp));
        if (s.layer < 0) w.*(s.global) = v;
        else w.layers[size_t(s.layer)].*(s.field) = v;
        done += t->n_bytes;
        if (on_progress) on_progress(done, total);
    }
    if (!w.output.data) w.output = w.token_embd;
    return w;
}

}  // namespace hotrod::model
