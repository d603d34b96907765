// The batched == alone check shared by the CPU model tests and the GPU ones: 1, 2, 4 and 8 sequences of different
// lengths in one batch, a prefill chunk of ~half each sequence then 1 (odd) or 3 (even) tokens a step, every logits
// row against the same sequence prefilled alone, within `tolerance` of the row's largest logit.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>
#include <utility>
#include <vector>

#include "model/test_util.h"

namespace hotrod::model::test {

inline void check_batched_vs_alone(Model& m, KvCache& kv, float tolerance) {
    std::mt19937 rng(42);

    for (int n_seqs : {1, 2, 4, 8}) {
        std::vector<std::vector<int32_t>> seqs(static_cast<size_t>(n_seqs));
        for (int s = 0; s < n_seqs; ++s) {
            const int len = 2 + 5 * s + (s % 3) * 4;  // 2 .. 45, crossing block boundaries unevenly
            for (int i = 0; i < len; ++i) seqs[size_t(s)].push_back(int32_t(rng() % 5000));
        }
        // Reference: each sequence alone, prefilled in one step.
        std::vector<std::vector<std::vector<float>>> alone;
        for (const auto& t : seqs) alone.push_back(run_all_logits(m, kv, t, int(t.size())));

        // Batched: sequence s first prefills a chunk of ~half its tokens, then feeds 1 (odd s) or 3 (even s)
        // tokens per step, all sequences in the same steps.
        std::vector<int32_t> ids(static_cast<size_t>(n_seqs));
        std::vector<size_t> done(static_cast<size_t>(n_seqs), 0);
        for (int s = 0; s < n_seqs; ++s) ids[size_t(s)] = kv.add_sequence();
        double worst = 0;
        Batch b;
        for (int step = 0;; ++step) {
            b.clear();
            std::vector<std::pair<int, size_t>> who;  // (sequence, position) of each logits row
            for (int s = 0; s < n_seqs; ++s) {
                const auto& t = seqs[size_t(s)];
                if (done[size_t(s)] == t.size()) continue;
                const size_t n = step == 0 ? std::max<size_t>(1, t.size() / 2) : (s % 2 ? 1 : 3);
                const int bs = b.add_sequence(ids[size_t(s)]);
                for (size_t i = done[size_t(s)]; i < std::min(t.size(), done[size_t(s)] + n); ++i) {
                    b.add(bs, t[i], int32_t(i), true);
                    who.emplace_back(s, i);
                }
                done[size_t(s)] = std::min(t.size(), done[size_t(s)] + n);
            }
            if (b.n_tokens() == 0) break;
            const int n_rows = m.forward(b, kv);
            ASSERT_EQ(size_t(n_rows), who.size());
            for (int r = 0; r < n_rows; ++r) {
                const auto ours = m.logits(r);
                const auto& ref = alone[size_t(who[size_t(r)].first)][who[size_t(r)].second];
                float scale = 1.0f, diff = 0.0f;
                for (size_t i = 0; i < ref.size(); ++i) {
                    scale = std::max(scale, std::abs(ref[i]));
                    diff = std::max(diff, std::abs(ours[i] - ref[i]));
                }
                worst = std::max(worst, double(diff / scale));
                ASSERT_LE(diff, tolerance * scale) << n_seqs << " sequences, step " << step << ", sequence "
                                               << who[size_t(r)].first << " position " << who[size_t(r)].second;
            }
        }
        for (int32_t id : ids) kv.remove_sequence(id);
        std::printf("  %d sequences: worst relative difference %.2e\n", n_seqs, worst);
    }
}

}  // namespace hotrod::model::test
