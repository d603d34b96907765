// Attention scalar references (scores pass, values pass), the softmax merge of spans, the one-thread driver and
// the kernel table.
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

void attention_scores_ref(const AttentionJob& job, int64_t t, int g, int32_t j_begin, int32_t j_end, float* scores,
                          float* m_l) {
    const int hd = job.head_dim;
    const int group = attention_group(job);
    const int32_t len = j_end - j_begin;
    const int32_t* table = job.block_tables[job.token_seq[t]];
    std::vector<float> kf(static_cast<size_t>(hd)), qh(static_cast<size_t>(group) * hd);
    for (int h = 0; h < group; ++h) {
        const float* q = job.q + size_t(t) * job.q_stride + size_t(g * group + h) * hd;
        for (int i = 0; i < hd; ++i) qh[size_t(h) * hd + i] = quant::fp16_to_fp32(quant::fp32_to_fp16(q[i]));
    }
    for (int32_t j = j_begin; j < j_end; ++j) {
        load_head(job, job.k + size_t(kv_slot(table, job.block_size, j)) * job.kv_row_bytes, g, kf.data());
        for (int h = 0; h < group; ++h) {
            float s = 0.0f;
            for (int i = 0; i < hd; ++i) s += qh[size_t(h) * hd + i] * kf[i];
            s *= job.scale;
            if (job.softcap > 0.0f) s = job.softcap * std::tanh(s / job.softcap);
            scores[size_t(h) * len + (j - j_begin)] = s;
        }
    }
    for (int h = 0; h < group; ++h) {
        const float* sh = scores + size_t(h) * len;
        float m = -std::numeric_limits<float>::infinity();
        for (int32_t j = 0; j < len; ++j) m = std::max(m, sh[j]);
        double l = 0.0;
        for (int32_t j = 0; j < len; ++j) l += double(std::exp(sh[j] - m));
        m_l[h] = m;
        m_l[group + h] = float(l);
    }
}

void attention_values_ref(const AttentionJob& job, int64_t t, int g, int32_t j_begin, int32_t j_end,
                          const float* scores, const float* m_inv, float* acc) {
    const int hd = job.head_dim;
    const int group = attention_group(job);
    const int32_t len = j_end - j_begin;
    const int32_t* table = job.block_tables[job.token_seq[t]];
    std::vector<float> vf(static_cast<size_t>(hd));
    std::fill(acc, acc + size_t(group) * hd, 0.0f);
    for (int32_t j = j_begin; j < j_end; ++j) {
        load_head(job, job.v + size_t(kv_slot(table, job.block_size, j)) * job.kv_row_bytes, g, vf.data());
        for (int h = 0; h < group; ++h) {
            const float e = std::exp(scores[size_t(h) * len + (j - j_begin)] - m_inv[h]) * m_inv[group + h];
            const float p = quant::fp16_to_fp32(quant::fp32_to_fp16(e));
            for (int i = 0; i < hd; ++i) acc[size_t(h) * hd + i] += p * vf[i];
        }
    }
}

void attention_softmax_merge(const AttentionJob& job, int n_parts, const float* m_l, size_t stride, float* m_inv) {
    const int group = attention_group(job);
    for (int h = 0; h < group; ++h) {
        float m_all = -std::numeric_limits<float>::infinity();
        for (int p = 0; p < n_parts; ++p) m_all = std::max(m_all, m_l[size_t(p) * stride + size_t(h)]);
        double l_all = 0.0;
        if (m_all != -std::numeric_limits<float>::infinity()) {
            for (int p = 0; p < n_parts; ++p) {
                const float l = m_l[size_t(p) * stride + size_t(group + h)];
                if (l != 0.0f) l_all += double(l) * std::exp(double(m_l[size_t(p) * stride + size_t(h)]) - m_all);
            }
        }
        m_inv[h] = m_all;
        m_inv[group + h] = l_all > 0.0 ? float(1.0 / l_all) : 0.0f;
    }
}

void attention_unit(const AttentionJob& job, const AttentionKernels& k, int64_t t, int g, float* scratch) {
    const int group = attention_group(job);
    int32_t first = 0, end = 0;
    attention_range(job, t, first, end);
    float m_l[2 * 64], m_inv[2 * 64];  // group <= 64 (checked by the backend)
    k.scores(job, t, g, first, end, scratch, m_l);
    attention_softmax_merge(job, 1, m_l, 0, m_inv);
    k.values(job, t, g, first, end, scratch, m_inv, job.out + size_t(t) * job.out_stride + size_t(g) * group * job.head_dim);
}

void attention_run(const AttentionJob& job, int64_t n_tokens, const AttentionKernels& k) {
    int32_t longest = 0;
    for (int64_t t = 0; t < n_tokens; ++t) {
        int32_t first = 0, end = 0;
        attention_range(job, t, first, end);
        longest = std::max(longest, end - first);
    }
    std::vector<float> scratch(size_t(attention_group(job)) * size_t(longest));
    for (int64_t t = 0; t < n_tokens; ++t) {
        for (int g = 0; g < job.n_kv_heads; ++g) attention_unit(job, k, t, g, scratch.data());
    }
}

AttentionKernels find_attention_kernels(quant::DType kv_type, Isa isa) {
    (void)kv_type;  // the SIMD kernels take F16 and Q8_0 alike and fall back to the references for odd shapes
    switch (isa) {
        // The tile sums in the unit kernel's order, so a token gives the same bits in a prefill tile as alone.
        case Isa::Avx512:
            return {kernels::attention_scores_avx512, kernels::attention_values_avx512, kernels::attention_tile_avx512};
        case Isa::Avx2: return {kernels::attention_scores_avx2, kernels::attention_values_avx2, nullptr};
        case Isa::Scalar: break;
    }
    return {attention_scores_ref, attention_values_ref, nullptr};
}

}  // namespace hotrod::cpu
