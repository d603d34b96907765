// RecurrentState: one buffer, per delta-net layer the conv slots then the state slots.
#include "model/recurrent_state.h"

#include <stdexcept>
#include <string>

namespace hotrod::model {

namespace {

size_t conv_row_bytes(const Config& c) {
    return size_t(c.delta_net.conv_kernel - 1) * size_t(c.delta_net.conv_channels()) * sizeof(float);
}
size_t state_row_bytes(const Config& c) {
    const DeltaNetConfig& d = c.delta_net;
    return size_t(d.n_v_heads) * size_t(d.head_dim) * size_t(d.head_dim) * sizeof(float);
}

}  // namespace

size_t RecurrentState::slot_bytes(const Config& c) {
    return size_t(c.n_recurrent_layers()) * (conv_row_bytes(c) + state_row_bytes(c));
}

RecurrentState::RecurrentState(backend::Backend& be, const Config& c, int n_slots, int n_snapshot_rows)
    : be_(be),
      n_slots_(n_slots),
      n_snapshot_rows_(n_snapshot_rows),
      conv_row_bytes_(conv_row_bytes(c)),
      state_row_bytes_(state_row_bytes(c)) {
    if (n_slots <= 0 || n_snapshot_rows < 0)
        throw Error("recurrent state: slots must be > 0 and snapshot rows >= 0, found " + std::to_string(n_slots) +
                    " and " + std::to_string(n_snapshot_rows));
    int n = 0;
    index_.assign(size_t(c.n_layers), -1);
    for (int il = 0; il < c.n_layers; ++il)
        if (c.is_recurrent(il)) index_[size_t(il)] = n++;
    bytes_ = size_t(n_rows()) * slot_bytes(c);
    buffer_ = be.alloc(bytes_);
}

backend::TensorView RecurrentState::conv(int il) const {
    const int i = index_.at(size_t(il));
    if (i < 0) throw std::logic_error("RecurrentState: layer " + std::to_string(il) + " is not a delta-net layer");
    char* base = static_cast<char*>(buffer_->data()) + size_t(i) * size_t(n_rows()) * (conv_row_bytes_ + state_row_bytes_);
    return {quant::DType::F32, base, n_rows(), int64_t(conv_row_bytes_ / sizeof(float)), conv_row_bytes_};
}

backend::TensorView RecurrentState::state(int il) const {
    backend::TensorView v = conv(il);
    v.data = static_cast<char*>(v.data) + size_t(n_rows()) * conv_row_bytes_;
    v.n_cols = int64_t(state_row_bytes_ / sizeof(float));
    v.row_bytes = state_row_bytes_;
    return v;
}

void RecurrentState::copy_row(int src, int dst) const {
    if (src < 0 || src >= n_rows() || dst < 0 || dst >= n_rows() || src == dst)
        throw std::logic_error("RecurrentState::copy_row: rows " + std::to_string(src) + " -> " + std::to_string(dst));
    const int32_t rows[1] = {src};
    for (size_t il = 0; il < index_.size(); ++il) {
        if (index_[il] < 0) continue;
        for (const backend::TensorView& t : {conv(int(il)), state(int(il))}) be_.gather_rows(t, rows, t.rows(dst, 1));
    }
}

}  // namespace hotrod::model
