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

// Batch invariance with each token's kind said (Batch::n_decode): every logits row, bit for bit, equals the same
// sequence's run alone. A sequence is a prompt then generated tokens (here given, as if sampled); as a server asks,
// logits come for a prompt's last token and each generated token only (at most one row a sequence and step). Alone:
// the whole prompt in one step, then one generated token a step. Batched, 1/2/4/8 sequences in the same steps:
// each prompt in two chunks (the second like a prefix-cache hit's tail, or a prompt continued beside other work),
// then generated tokens one a step, decode tokens first in a step.
inline void check_kind_invariance(Model& m, KvCache& kv) {
    std::mt19937 rng(43);
    const auto forward = [&](Batch& b) {
        const int n = m.forward(b, kv);
        std::vector<std::vector<float>> rows;
        for (int i = 0; i < n; ++i) rows.emplace_back(m.logits(i).begin(), m.logits(i).end());
        return rows;
    };
    for (int n_seqs : {1, 2, 4, 8}) {
        std::vector<std::vector<int32_t>> toks(static_cast<size_t>(n_seqs));
        std::vector<size_t> prompt_len(static_cast<size_t>(n_seqs));
        for (int s = 0; s < n_seqs; ++s) {
            prompt_len[size_t(s)] = size_t(3 + 9 * s + (s % 3) * 5);  // 3 .. 76: crossing 16 and 64 unevenly
            for (size_t i = 0; i < prompt_len[size_t(s)] + 6; ++i) toks[size_t(s)].push_back(int32_t(rng() % 5000));
        }
        // Alone: [prompt rows..., generated rows...] of each sequence.
        std::vector<std::vector<std::vector<float>>> alone(static_cast<size_t>(n_seqs));
        Batch b;
        for (int s = 0; s < n_seqs; ++s) {
            const auto& t = toks[size_t(s)];
            const int32_t id = kv.add_sequence();
            b.clear();
            const int bs = b.add_sequence(id);
            const size_t p = prompt_len[size_t(s)];
            for (size_t i = 0; i < p; ++i) b.add(bs, t[i], int32_t(i), i + 1 == p);
            b.n_decode = 0;
            alone[size_t(s)].assign(p, {});  // rows of positions before p - 1: none
            alone[size_t(s)][p - 1] = forward(b)[0];
            for (size_t i = prompt_len[size_t(s)]; i < t.size(); ++i) {
                b.clear();
                b.add(b.add_sequence(id), t[i], int32_t(i), true);
                b.n_decode = 1;
                alone[size_t(s)].push_back(forward(b)[0]);
            }
            kv.remove_sequence(id);
        }
        // Batched.
        std::vector<int32_t> ids(static_cast<size_t>(n_seqs));
        std::vector<size_t> done(static_cast<size_t>(n_seqs), 0);
        for (int s = 0; s < n_seqs; ++s) ids[size_t(s)] = kv.add_sequence();
        int compared = 0;
        for (int step = 0;; ++step) {
            b.clear();
            std::vector<std::pair<int, size_t>> who;
            for (const bool decode_pass : {true, false}) {
                for (int s = 0; s < n_seqs; ++s) {
                    const auto& t = toks[size_t(s)];
                    const size_t at = done[size_t(s)], p = prompt_len[size_t(s)];
                    if (at == t.size() || (at >= p) != decode_pass) continue;
                    // Prompts: a first chunk of about two thirds at step s % 3, then the rest; generated: one.
                    if (!decode_pass && step < s % 3) continue;
                    const size_t n = decode_pass ? 1 : (at == 0 ? std::max<size_t>(1, p * 2 / 3) : p - at);
                    const size_t end = std::min(decode_pass ? t.size() : p, at + n);
                    const int bs = b.add_sequence(ids[size_t(s)]);
                    for (size_t i = at; i < end; ++i) {
                        const bool want = decode_pass || i + 1 == p;
                        b.add(bs, t[i], int32_t(i), want);
                        if (want) who.emplace_back(s, i);
                    }
                    done[size_t(s)] = end;
                }
                if (decode_pass) b.n_decode = b.n_tokens();
            }
            if (b.n_tokens() == 0) {
                if (step > 3) break;
                continue;
            }
            const auto rows = forward(b);
            ASSERT_EQ(rows.size(), who.size());
            for (size_t r = 0; r < rows.size(); ++r) {
                const auto& ref = alone[size_t(who[r].first)][who[r].second];
                ASSERT_EQ(rows[r].size(), ref.size());
                ASSERT_TRUE(std::equal(rows[r].begin(), rows[r].end(), ref.begin()))
                    << n_seqs << " sequences, step " << step << " (" << b.n_decode << " of " << b.n_tokens()
                    << " tokens decode), sequence " << who[r].first << " position " << who[r].second
                    << (who[r].second < prompt_len[size_t(who[r].first)] ? " (prompt)" : " (generated)");
                ++compared;
            }
        }
        for (int32_t id : ids) kv.remove_sequence(id);
        std::printf("  %d sequences: %d logits rows equal to the sequence alone, bit for bit\n", n_seqs, compared);
    }
}

}  // namespace hotrod::model::test
