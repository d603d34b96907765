// BlockPool and KvCache: one buffer for every layer's K and V, carved into blocks; sequences hold block lists.
#include "model/kv_cache.h"

#include <algorithm>
#include <numeric>
#include <stdexcept>
#include <string>

#include "quant/types.h"

namespace hotrod::model {

namespace {

size_t row_bytes_or_throw(quant::DType type, int64_t width) {
    if (type != quant::DType::F16 && type != quant::DType::Q8_0 && type != quant::DType::F32)
        throw Error("KV cache: type " + std::string(quant::type_name(type)) + " is not supported (F16, Q8_0, F32)");
    const auto rb = quant::row_bytes(type, width);
    if (!rb)
        throw Error("KV cache: type " + std::string(quant::type_name(type)) + " needs a row width that is a multiple of " +
                    std::to_string(quant::type_info(type).block_size) + ", found " + std::to_string(width));
    return *rb;
}

int n_kv_layers(const Config& c) { return c.n_layers - c.n_recurrent_layers(); }

// The recurrent state comes out of a byte budget first; the rest is K and V blocks.
int blocks_for(const Config& c, const KvOptions& opt) {
    if (opt.block_size <= 0) throw Error("KV cache: block size must be > 0, found " + std::to_string(opt.block_size));
    const size_t row = row_bytes_or_throw(opt.type, int64_t(c.n_kv_heads) * c.head_dim);
    const size_t block_bytes = row * size_t(opt.block_size) * 2 * size_t(std::max(n_kv_layers(c), 1));
    const size_t state_bytes =
        c.n_recurrent_layers() > 0 ? size_t(opt.n_seqs + opt.n_state_snapshots) * RecurrentState::slot_bytes(c) : 0;
    int64_t n = 0;
    if (opt.kv_bytes > 0) n = opt.kv_bytes > state_bytes ? int64_t((opt.kv_bytes - state_bytes) / block_bytes) : 0;
    else n = (int64_t(opt.n_ctx) + opt.block_size - 1) / opt.block_size;
    if (n <= 0)
        throw Error("KV cache: a budget of " + std::to_string(opt.kv_bytes) + " bytes / ctx " +
                    std::to_string(opt.n_ctx) + " holds no block of " + std::to_string(block_bytes) + " bytes" +
                    (state_bytes ? " after " + std::to_string(state_bytes) + " bytes of recurrent state" : ""));
    if (n > INT32_MAX / opt.block_size) throw Error("KV cache: too many blocks: " + std::to_string(n));
    return int(n);
}

}  // namespace

KvCache::KvCache(backend::Backend& be, const Config& c, const KvOptions& opt)
    : n_layers_(c.n_layers),
      n_kv_heads_(c.n_kv_heads),
      head_dim_(c.head_dim),
      block_size_(opt.block_size),
      type_(opt.type),
      pool_(blocks_for(c, opt), opt.block_size) {
    const size_t row = row_bytes_or_throw(type_, int64_t(n_kv_heads_) * head_dim_);
    layer_bytes_ = row * size_t(pool_.n_blocks()) * size_t(block_size_);
    int n_kv = 0;
    kv_index_.assign(size_t(n_layers_), -1);
    for (int il = 0; il < n_layers_; ++il)
        if (!c.is_recurrent(il)) kv_index_[size_t(il)] = n_kv++;
    bytes_ = layer_bytes_ * 2 * size_t(n_kv);
    buffer_ = be.alloc(std::max<size_t>(bytes_, 1));
    if (c.n_recurrent_layers() > 0) {
        if (opt.snapshot_interval <= 0 || opt.snapshot_interval % block_size_ != 0)
            throw Error("KV cache: snapshot interval " + std::to_string(opt.snapshot_interval) +
                        " must be a positive multiple of the block size " + std::to_string(block_size_));
        recurrent_ = std::make_unique<RecurrentState>(be, c, opt.n_seqs, opt.n_state_snapshots);
        bytes_ += recurrent_->bytes();
        prompt_align_ = std::max(1, be.recurrent_align());
        snapshot_align_ = std::lcm(block_size_, prompt_align_);
        snapshot_interval_ = (opt.snapshot_interval + snapshot_align_ - 1) / snapshot_align_ * snapshot_align_;
        for (int r = recurrent_->n_rows() - 1; r >= opt.n_seqs; --r) snap_free_.push_back(r);
    }
}

int32_t KvCache::add_sequence() {
    for (size_t i = 0; i < seqs_.size(); ++i)
        if (!seqs_[i].live) {
            seqs_[i].live = true;
            seqs_[i].n_state = 0;
            return int32_t(i);
        }
    // Ids are the lowest free, so with a recurrent state the id is the sequence's slot.
    if (recurrent_ && int(seqs_.size()) >= recurrent_->n_slots())
        throw KvFullError("KV cache: all " + std::to_string(recurrent_->n_slots()) +
                          " recurrent-state slots are taken (one per sequence alive at once)");
    seqs_.push_back(Seq{true, {}, {}, 0, {}, {}});
    return int32_t(seqs_.size() - 1);
}

void KvCache::remove_sequence(int32_t seq_id) {
    if (recurrent_) {
        Seq& s = seqs_.at(size_t(seq_id));
        if (s.tail.row >= 0 && publish_snapshot(s, s.tail)) s.tail = {};  // the next turn of a chat starts here
        free_snapshots(s);
    }
    truncate(seq_id, 0);
    seqs_.at(size_t(seq_id)).live = false;
}

int KvCache::truncate(int32_t seq_id, int n_positions) {
    Seq& s = seqs_.at(size_t(seq_id));
    if (recurrent_ && n_positions < s.n_state) {  // the state cannot drop positions: start again
        n_positions = 0;
        free_snapshots(s);
    }
    s.n_state = std::min(s.n_state, n_positions);
    const size_t keep = size_t((n_positions + block_size_ - 1) / block_size_);
    while (s.blocks.size() > keep) {
        pool_.release(s.blocks.back());
        s.blocks.pop_back();
    }
    const size_t full = size_t(n_positions / block_size_);
    if (s.hashes.size() > full) s.hashes.resize(full);
    if (keep > full) {  // the last kept block is partial and will be written again
        const int32_t b = s.blocks[keep - 1];
        if (pool_.ref(b) > 1) throw std::logic_error("KvCache: truncate inside a block shared with another sequence");
        pool_.unpublish(b);
    }
    return n_positions;
}

int KvCache::match_prefix(int32_t seq_id, std::span<const int32_t> tokens) {
    if (!has_sequence(seq_id)) throw std::invalid_argument("KvCache: unknown sequence " + std::to_string(seq_id));
    Seq& s = seqs_[size_t(seq_id)];
    if (!s.blocks.empty()) throw std::logic_error("KvCache: match_prefix on a sequence that holds blocks");
    if (tokens.empty()) return 0;
    const size_t max_blocks = (tokens.size() - 1) / size_t(block_size_);
    const auto found = published_prefix(tokens, max_blocks);
    // A hybrid model's K and V are of no use without the delta-net state at their end: up to the last snapshot.
    const size_t n = recurrent_ ? blocks_up_to_snapshot(found) : found.size();
    for (size_t i = 0; i < n; ++i) {
        pool_.retain(found[i].first);
        s.blocks.push_back(found[i].first);
        s.hashes.push_back(found[i].second);
    }
    hits_ += n;
    if (recurrent_ && n > 0) resume_from_snapshot(seq_id, found[n - 1].second);
    return int(n) * block_size_;
}

std::vector<std::pair<int32_t, uint64_t>> KvCache::published_prefix(std::span<const int32_t> tokens,
                                                                     size_t max_blocks) {
    std::vector<std::pair<int32_t, uint64_t>> found;
    uint64_t parent = 0;
    for (size_t i = 0; i < max_blocks; ++i) {
        const auto blk = tokens.subspan(i * size_t(block_size_), size_t(block_size_));
        const uint64_t h = prefix_block_hash(parent, blk);
        ++lookups_;
        const int32_t b = pool_.find(h, parent, blk);
        if (b < 0) break;
        found.emplace_back(b, h);
        parent = h;
    }
    return found;
}

void KvCache::publish_prefix(int32_t seq_id, std::span<const int32_t> tokens, int n_computed) {
    Seq& s = seqs_.at(size_t(seq_id));
    const size_t n_full = std::min({size_t(std::max(n_computed, 0)), tokens.size()}) / size_t(block_size_);
    const size_t limit = std::min(n_full, s.blocks.size());
    while (s.hashes.size() < limit) {
        const size_t i = s.hashes.size();
        const uint64_t parent = i == 0 ? 0 : s.hashes[i - 1];
        const auto blk = tokens.subspan(i * size_t(block_size_), size_t(block_size_));
        const uint64_t h = prefix_block_hash(parent, blk);
        pool_.publish(s.blocks[i], h, parent, blk);  // false: an equal block is published already; ours stays private
        s.hashes.push_back(h);
    }
    if (recurrent_) {
        std::erase_if(s.pending, [&](const Snapshot& snap) { return publish_snapshot(s, snap); });
    }
}

void KvCache::reserve(int32_t seq_id, int n_positions) {
    if (!has_sequence(seq_id)) throw std::invalid_argument("KvCache: unknown sequence " + std::to_string(seq_id));
    Seq& s = seqs_[size_t(seq_id)];
    const size_t need = size_t((int64_t(n_positions) + block_size_ - 1) / block_size_);
    while (s.blocks.size() < need) {
        const int32_t b = pool_.allocate();
        if (b < 0)
            throw KvFullError("KV cache full: sequence " + std::to_string(seq_id) + " needs " +
                              std::to_string(n_positions) + " positions (" + std::to_string(need) + " blocks of " +
                              std::to_string(block_size_) + "), holds " + std::to_string(s.blocks.size()) +
                              ", pool has " + std::to_string(pool_.n_free()) + " free of " +
                              std::to_string(pool_.n_blocks()) + " (raise --ctx-size)");
        s.blocks.push_back(b);
    }
}

backend::KvLayerView KvCache::layer(int il) const {
    backend::KvLayerView v;
    v.type = type_;
    const int i = kv_index_.at(size_t(il));
    if (i < 0) throw std::logic_error("KvCache: layer " + std::to_string(il) + " is a delta-net layer: no K and V");
    char* base = static_cast<char*>(buffer_->data()) + size_t(i) * 2 * layer_bytes_;
    v.k = base;
    v.v = base + layer_bytes_;
    v.n_kv_heads = n_kv_heads_;
    v.head_dim = head_dim_;
    return v;
}

}  // namespace hotrod::model
