// The comparisons the reports print: the verdict per payload (p50 of each target, who is faster and by how
// much) and the full summary table, one row per metric with a cell per target and the winner. Shared by
// the text and HTML reports so both say the same thing.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "bench/results.h"
#include "bench/workload.h"

namespace hotrod::bench {

struct TableRow {
    std::string metric;
    std::vector<std::string> cells;  // one per target, in run order; "-" where the target has no figure
    std::string winner;              // "B (21% faster)", "B (1.4x)", "Tie", "Same answer", or "-"
};

// "small: A p50=237ms B p50=187ms → B is 21% faster" per payload; empty when fewer than two targets answered.
std::vector<std::string> verdict_lines(const Workload& w, const BenchResult& r);
std::vector<TableRow> summary_table(const Workload& w, const BenchResult& r);

// Answers of the enum key among valid replies of every test, most frequent first.
std::vector<std::pair<std::string, int>> answer_counts(const TargetResult& t);
// Non-warm-up samples (the quality population) of a target.
std::vector<const Sample*> measured_samples(const TargetResult& t);

// Percentage by which `fast` beats `slow` in latency: (slow - fast) / slow * 100, as the published report.
double percent_faster(double fast_ms, double slow_ms);
std::string fmt_ms(double ms);  // "237ms"

}  // namespace hotrod::bench
