// Model loading (file -> arch -> Config -> Weights -> activation buffers) and the step wrapper around the
// family forward: batch checks, KV reservation, views cut to the step's size.
#include "model/model.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "model/tensor_parallel.h"

namespace hotrod::model {

Model::Model(gguf::File file, backend::Backend& be) : file_(std::move(file)), be_(be) {}

std::unique_ptr<Model> Model::load(const std::string& path, backend::Backend& be, const LoadOptions& opt) {
    std::unique_ptr<Model> m(new Model(gguf::File::open(path), be));
    m->opt_ = opt;
    const std::string arch(m->file_.architecture());
    m->arch_ = find_arch(arch);
    if (!m->arch_)
        throw Error(path + ": key general.architecture: expected one of " + supported_archs() + ", found '" + arch +
                    "'");
    const Config full = m->arch_->read_config(m->file_);
    validate_config(full, path);
    if (opt.tp.rank < 0 || opt.tp.rank >= opt.tp.size)
        throw std::invalid_argument("model load options: tensor-parallel rank " + std::to_string(opt.tp.rank) +
                                    " of " + std::to_string(opt.tp.size));
    if (be.group_size() != opt.tp.size)
        throw std::invalid_argument("model load options: a model cut for " + std::to_string(opt.tp.size) +
                                    " tensor-parallel ranks on backend " + be.name() + " in a group of " +
                                    std::to_string(be.group_size()));
    // A rank's Config is its slice (its heads and FFN columns); the file is checked against the full model's shapes.
    m->config_ = shard_config(full, opt.tp.size);
    const Config& c = m->config_;
    m->weights_ = load_weights(m->file_, m->arch_->manifest(full).specs(), full, be, opt.on_weight_progress, opt.tp);
    if (opt.max_batch_tokens <= 0 || opt.max_logit_rows <= 0 || opt.max_seqs <= 0 || opt.max_embd_rows < 0)
        throw std::invalid_argument("model load options: batch tokens, logit rows and sequences must be > 0");

    auto alloc = [&](int64_t rows, int64_t cols) {
        const size_t bytes = size_t(rows) * size_t(cols) * sizeof(float);
        m->buffers_.push_back(be.alloc(bytes));
        TensorView v;
        v.type = quant::DType::F32;
        v.data = m->buffers_.back()->data();
        v.n_rows = rows;
        v.n_cols = cols;
        v.row_bytes = size_t(cols) * sizeof(float);
        return v;
    };
    const int64_t T = opt.max_batch_tokens, L = opt.max_logit_rows;
    const int64_t q_width = int64_t(c.n_heads) * c.head_dim, kv_width = int64_t(c.n_kv_heads) * c.head_dim;
    Activations& a = m->act_;
    a.x = alloc(T, c.n_embd);
    a.xn = alloc(T, c.n_embd);
    a.proj = alloc(T, c.n_embd);
    a.post = alloc(T, c.n_embd);
    a.q = alloc(T, q_width);
    a.k = alloc(T, kv_width);
    a.v = alloc(T, kv_width);
    a.attn = alloc(T, q_width);
    a.gate = alloc(T, c.n_ff);
    a.up = alloc(T, c.n_ff);
    a.hidden = alloc(T, c.n_ff);
    a.out_x = alloc(L, c.n_embd);
    a.out_xn = alloc(L, c.n_embd);
    a.logits = alloc(L, c.n_vocab);
    if (const int64_t E = opt.max_embd_rows; E > 0) {
        a.embd_x = alloc(E, c.n_embd);
        a.embd_xn = alloc(E, c.n_embd);
        if (!be.host_addressable()) m->embd_host_ = be.alloc_host(size_t(E) * size_t(c.n_embd) * sizeof(float));
    }
    int64_t widest = std::max<int64_t>({c.n_embd, c.n_ff, q_width});
    if (c.attn_output_gate) a.qg = alloc(T, 2 * q_width);
    if (c.n_recurrent_layers() > 0) {
        const DeltaNetConfig& d = c.delta_net;
        const int64_t v_width = int64_t(d.n_v_heads) * d.head_dim;
        a.dn_qkv = alloc(T, d.conv_channels());
        a.dn_z = alloc(T, v_width);
        a.dn_g = alloc(T, d.n_v_heads);
        a.dn_beta = alloc(T, d.n_v_heads);
        a.dn_out = alloc(T, v_width);
        widest = std::max<int64_t>({widest, d.conv_channels(), v_width});
    }
    m->block_tables_.assign(size_t(opt.max_seqs), nullptr);
    if (!be.host_addressable()) m->logits_host_ = be.alloc_host(size_t(L) * size_t(c.n_vocab) * sizeof(float));
    be.reserve_workspace(T, widest);
    return m;
}

size_t Model::weight_bytes() const {
    size_t n = 0;
    const Manifest manifest = arch_->manifest(config_);
    for (const auto& s : manifest.specs())
        if (const auto* t = file_.find_tensor(s.name)) n += t->n_bytes;
    return n;
}

void Model::check_batch(const Batch& b, const KvCache& kv) const {
    const int n = b.n_tokens();
    auto bad = [](const std::string& what) { throw std::invalid_argument("batch: " + what); };
    if (n == 0) bad("no tokens");
    if (n > opt_.max_batch_tokens)
        bad(std::to_string(n) + " tokens, the model was loaded for at most " + std::to_string(opt_.max_batch_tokens));
    if (b.positions.size() != size_t(n) || b.token_seq.size() != size_t(n)) bad("positions/token_seq length differs");
    if (b.n_seqs() > opt_.max_seqs) bad(std::to_string(b.n_seqs()) + " sequences, at most " + std::to_string(opt_.max_seqs));
    if (int(b.logit_rows.size()) > opt_.max_logit_rows)
        bad(std::to_string(b.logit_rows.size()) + " logits rows, the model was loaded for at most " +
            std::to_string(opt_.max_logit_rows));
    for (int s = 0; s < b.n_seqs(); ++s)
        if (!kv.has_sequence(b.seq_ids[size_t(s)])) bad("unknown KV sequence " + std::to_string(b.seq_ids[size_t(s)]));
    for (int t = 0; t < n; ++t) {
        const int32_t id = b.tokens[size_t(t)], seq = b.token_seq[size_t(t)], pos = b.positions[size_t(t)];
        if (id < 0 || id >= config_.n_vocab)
            bad("token " + std::to_string(t) + ": id " + std::to_string(id) + " outside the vocabulary of " +
                std::to_string(config_.n_vocab));
        if (seq < 0 || seq >= b.n_seqs()) bad("token " + std::to_string(t) + ": sequence index out of range");
        if (pos < 0) bad("token " + std::to_string(t) + ": negative position");
        if (t > 0 && b.token_seq[size_t(t - 1)] == seq && b.positions[size_t(t - 1)] >= pos)
            bad("token " + std::to_string(t) + ": positions of a sequence must increase");
        if (t > 0 && b.token_seq[size_t(t - 1)] != seq) {
            for (int u = 0; u < t; ++u)
                if (b.token_seq[size_t(u)] == seq) bad("tokens of sequence " + std::to_string(seq) + " not contiguous");
        }
    }
    // A hybrid model's recurrent state holds exactly the positions run so far: a sequence continues there, or
    // starts again at 0.
    if (kv.recurrent())
        for (int t = 0; t < n; ++t) {
            const int32_t pos = b.positions[size_t(t)];
            if (t == 0 || b.token_seq[size_t(t - 1)] != b.token_seq[size_t(t)]) {
                const int32_t id = b.seq_ids[size_t(b.token_seq[size_t(t)])];
                if (pos != 0 && pos != kv.state_positions(id))
                    bad("sequence " + std::to_string(id) + " starts at position " + std::to_string(pos) +
                        ", its recurrent state holds " + std::to_string(kv.state_positions(id)) + " positions");
            } else if (pos != b.positions[size_t(t - 1)] + 1) {
                bad("token " + std::to_string(t) + ": a hybrid model's positions must be consecutive");
            }
        }
    for (size_t i = 0; i < b.logit_rows.size(); ++i) {
        const int32_t r = b.logit_rows[i];
        if (r < 0 || r >= n || (i > 0 && b.logit_rows[i - 1] >= r)) bad("logit_rows must be ascending token indices");
    }
    if (int(b.embd_rows.size()) > opt_.max_embd_rows)
        bad(std::to_string(b.embd_rows.size()) + " embedding rows, the model was loaded for at most " +
            std::to_string(opt_.max_embd_rows));
    for (size_t i = 0; i < b.embd_rows.size(); ++i) {
        const int32_t r = b.embd_rows[i];
        if (r < 0 || r >= n || (i > 0 && b.embd_rows[i - 1] >= r)) bad("embd_rows must be ascending token indices");
    }
}

int Model::forward(const Batch& b, KvCache& kv) {
    check_batch(b, kv);
    // Room for every sequence up to its last position in this batch (tokens of a sequence are in order).
    for (int t = 0; t < b.n_tokens(); ++t) {
        const bool last_of_seq = t + 1 == b.n_tokens() || b.token_seq[size_t(t + 1)] != b.token_seq[size_t(t)];
        if (last_of_seq) kv.reserve(b.seq_ids[size_t(b.token_seq[size_t(t)])], b.positions[size_t(t)] + 1);
    }
    for (int s = 0; s < b.n_seqs(); ++s) block_tables_[size_t(s)] = kv.block_table(b.seq_ids[size_t(s)]);

    const int64_t n = b.n_tokens(), n_out = int64_t(b.logit_rows.size()), n_embd_rows = int64_t(b.embd_rows.size());
    Activations a;
    a.x = act_.x.rows(0, n);
    a.xn = act_.xn.rows(0, n);
    a.proj = act_.proj.rows(0, n);
    a.post = act_.post.rows(0, n);
    a.q = act_.q.rows(0, n);
    a.k = act_.k.rows(0, n);
    a.v = act_.v.rows(0, n);
    a.attn = act_.attn.rows(0, n);
    a.gate = act_.gate.rows(0, n);
    a.up = act_.up.rows(0, n);
    a.hidden = act_.hidden.rows(0, n);
    a.out_x = act_.out_x.rows(0, n_out);
    a.out_xn = act_.out_xn.rows(0, n_out);
    a.logits = act_.logits.rows(0, n_out);
    if (act_.embd_x.data) {
        a.embd_x = act_.embd_x.rows(0, n_embd_rows);
        a.embd_xn = act_.embd_xn.rows(0, n_embd_rows);
    }
    for (auto [dst, src] : {std::pair{&a.qg, &act_.qg}, {&a.dn_qkv, &act_.dn_qkv}, {&a.dn_z, &act_.dn_z},
                            {&a.dn_g, &act_.dn_g}, {&a.dn_beta, &act_.dn_beta}, {&a.dn_out, &act_.dn_out}})
        if (src->data) *dst = src->rows(0, n);

    backend::KvLayout layout;
    layout.positions = b.positions;
    layout.token_seq = b.token_seq;
    layout.block_tables = std::span<const int32_t* const>(block_tables_.data(), size_t(b.n_seqs()));
    layout.block_size = kv.block_size();

    // A sequence's slot is its KV id. The snapshots are planned before begin_step, which hands the whole layout to
    // the backend with the step's other index arrays (a device backend uploads them there, once).
    backend::RecurrentLayout recurrent;
    if (kv.recurrent()) recurrent = {b.positions, b.token_seq, b.seq_ids, kv.plan_snapshots(b)};

    Step step{be_, config_, weights_, kv, layout, recurrent, b.tokens, b.logit_rows, b.embd_rows, a,
              trace_ ? &trace_ : nullptr};
    try {
        be_.begin_step(backend::StepIndex{b.tokens, b.logit_rows, layout, recurrent, b.n_decode});
        arch_->forward(step);
    } catch (...) {
        kv.cancel_snapshots();  // rows the step may have half written
        throw;
    }
    if (kv.recurrent())
        for (int t = 0; t < b.n_tokens(); ++t)
            kv.set_state_positions(b.seq_ids[size_t(b.token_seq[size_t(t)])], b.positions[size_t(t)] + 1);
    n_logits_ = int(n_out);
    n_embd_rows_ = int(n_embd_rows);
    embd_ = a.embd_xn.f32();
    if (embd_host_ && n_embd_rows > 0) {
        embd_ = static_cast<float*>(embd_host_->data());
        be_.to_host(a.embd_xn, embd_host_->data());
    }
    // The one device-to-host copy of a step: the logits rows that are sampled (and the hidden rows, when asked),
    // or only their arg-maxes where every row is sampled greedily (4 bytes a row instead of n_vocab floats; the
    // final soft-cap, applied on the host, could tie two maxima, so it keeps the rows).
    greedy_only_ = b.greedy_only && n_out > 0 && config_.final_softcap <= 0 && be_.prefers_argmax_rows();
    if (greedy_only_) {
        greedy_ids_.resize(size_t(n_out));
        be_.argmax_rows(a.logits, greedy_ids_.data());
        logits_ = nullptr;
        return n_logits_;
    }
    float* logits = a.logits.f32();
    if (logits_host_) {
        logits = static_cast<float*>(logits_host_->data());
        be_.to_host(a.logits, logits);
    } else {
        be_.sync();
    }
    logits_ = logits;

    // Final soft-capping (Gemma 2 style) has no Backend op yet; applied on the host rows.
    if (config_.final_softcap > 0) {
        const float cap = config_.final_softcap;
        for (int64_t i = 0; i < n_out * config_.n_vocab; ++i) logits[i] = cap * std::tanh(logits[i] / cap);
    }
    return n_logits_;
}

std::span<const float> Model::embedding_row(int i) const {
    if (i < 0 || i >= n_embd_rows_) throw std::out_of_range("Model::embedding_row: row " + std::to_string(i));
    return {embd_ + size_t(i) * size_t(config_.n_embd), size_t(config_.n_embd)};
}

int32_t Model::greedy_id(int i) const {
    if (!greedy_only_) throw std::logic_error("Model::greedy_id: the last step returned logits rows");
    if (i < 0 || i >= n_logits_) throw std::out_of_range("Model::greedy_id: row " + std::to_string(i));
    return greedy_ids_[size_t(i)];
}

std::span<const float> Model::logits(int i) const {
    if (greedy_only_) throw std::logic_error("Model::logits: the last step returned only arg-maxes (greedy_only)");
    if (i < 0 || i >= n_logits_) throw std::out_of_range("Model::logits: row " + std::to_string(i));
    return {logits_ + size_t(i) * size_t(config_.n_vocab), size_t(config_.n_vocab)};
}

}  // namespace hotrod::model
