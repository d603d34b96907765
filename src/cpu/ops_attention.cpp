// Attention scalar reference (per-position online softmax, float), the merge of partial states, and the table.
#include "cpu/ops_attention.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "cpu/ops_kv.h"
#include "quant/dequantize.h"
#include "quant/half.h"

namespace hotrod::cpu {

namespace {

// Head `head` of a cache row as floats.
void load_head(const AttentionJob& job, const uint8_t* row, int head, float* dst) {
    const int hd = job.head_dim;
    if (job.kv_type == quant::DType::F16) {
        const auto* h = reinterpret_cast<const uint16_t*>(row) + size_t(head) * hd;
        for (int i = 0; i < hd; ++i) dst[i] = quant::fp16_to_fp32(h[i]);
    } else {  // Q8_0: a head is hd / 32 whole blocks of 34 bytes
        quant::dequantize_row_q8_0_ref(row + size_t(head) * (hd / 32) * 34, dst, hd);
    }
}

}  // namespace

void attention_span_ref(const AttentionJob& job, int64_t t, int g, int32_t j_begin, int32_t j_end, float* state) {
    const int hd = job.head_dim;
    const int group = job.n_heads / job.n_kv_heads;
    float* acc = state;
    float* m = state + size_t(group) * hd;
    float* l = m + group;
    const int32_t* table = job.block_tables[job.token_seq[t]];
    std::vector<float> kf(static_cast<size_t>(hd)), vf(static_cast<size_t>(hd));
    for (int h = 0; h < group; ++h) {
        m[h] = -std::numeric_limits<float>::infinity();
        l[h] = 0.0f;
        for (int i = 0; i < hd; ++i) acc[h * hd + i] = 0.0f;
    }
    for (int32_t j = j_begin; j < j_end; ++j) {
        const int64_t row = kv_slot(table, job.block_size, j);
        load_head(job, job.k + size_t(row) * job.kv_row_bytes, g, kf.data());
        load_head(job, job.v + size_t(row) * job.kv_row_bytes, g, vf.data());
        for (int h = 0; h < group; ++h) {
            const float* q = job.q + size_t(t) * job.q_stride + size_t(g * group + h) * hd;
            float s = 0.0f;
            for (int i = 0; i < hd; ++i) s += q[i] * kf[i];
            s *= job.scale;
            if (job.softcap > 0.0f) s = job.softcap * std::tanh(s / job.softcap);
            float* a = acc + h * hd;
            if (s > m[h]) {  // new maximum: rescale what was summed so far
                const float c = std::exp(m[h] - s);
                l[h] *= c;
                for (int i = 0; i < hd; ++i) a[i] *= c;
                m[h] = s;
            }
            const float w = std::exp(s - m[h]);
            l[h] += w;
            for (int i = 0; i < hd; ++i) a[i] += w * vf[i];
        }
    }
}

void attention_merge(const AttentionJob& job, int64_t t, int g, int n_parts, const float* states) {
    const int hd = job.head_dim;
    const int group = job.n_heads / job.n_kv_heads;
    const size_t stride = attention_state_floats(job);
    auto m_of = [&](int part, int h) { return states[part * stride + size_t(group) * hd + h]; };
    auto l_of = [&](int part, int h) { return states[part * stride + size_t(group) * hd + group + h]; };
    for (int h = 0; h < group; ++h) {
        float m_all = -std::numeric_limits<float>::infinity();
        for (int p = 0; p < n_parts; ++p) m_all = std::max(m_all, m_of(p, h));
        float* out = job.out + size_t(t) * job.out_stride + size_t(g * group + h) * hd;
        for (int i = 0; i < hd; ++i) out[i] = 0.0f;
        if (m_all == -std::numeric_limits<float>::infinity()) continue;  // no position at all: output 0
        float l_all = 0.0f;
        for (int p = 0; p < n_parts; ++p) {
            if (l_of(p, h) == 0.0f) continue;
            const float c = std::exp(m_of(p, h) - m_all);
            l_all += c * l_of(p, h);
            const float* a = states + p * stride + size_t(h) * hd;
            for (int i = 0; i < hd; ++i) out[i] += c * a[i];
        }
        const float inv = 1.0f / l_all;
        for (int i = 0; i < hd; ++i) out[i] *= inv;
    }
}

void attention_run(const AttentionJob& job, int64_t n_tokens, AttentionSpanFn span) {
    std::vector<float> state(attention_state_floats(job));
    for (int64_t t = 0; t < n_tokens; ++t) {
        int32_t first = 0, end = 0;
        attention_range(job, t, first, end);
        for (int g = 0; g < job.n_kv_heads; ++g) {
            span(job, t, g, first, end, state.data());
            attention_merge(job, t, g, 1, state.data());
        }
    }
}

AttentionSpanFn find_attention_span(quant::DType kv_type, Isa isa) {
    (void)kv_type;  // the SIMD kernels take F16 and Q8_0 alike and fall back to the reference for odd shapes
    switch (isa) {
        case Isa::Avx512: return kernels::attention_span_avx512;
        case Isa::Avx2: return kernels::attention_span_avx2;
        case Isa::Scalar: break;
    }
    return attention_span_ref;
}

}  // namespace hotrod::cpu
