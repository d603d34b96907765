// Inline SVG charts for the HTML report, written as plain strings (no scripts, no fonts beyond the
// browser's generic sans-serif): grouped bars with an optional whisker per bar, and a strip plot of raw values.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace hotrod::bench {

std::string html_escape(std::string_view s);

struct BarSeries {
    std::string name;              // legend entry (a target)
    std::vector<double> values;    // one per group; < 0 = no bar
    std::vector<double> whiskers;  // optional, one per group: a tick drawn at this value (e.g. p90 over p50)
};

// Groups along x (payloads, concurrency levels), one coloured bar per series in each group, value labels.
std::string svg_grouped_bars(const std::string& title, const std::string& unit, const std::vector<std::string>& groups,
                             const std::vector<BarSeries>& series);

struct StripRow {
    std::string label;           // "small · llama"
    int series = 0;              // colour index
    std::vector<double> values;  // every sample
};

// One row per (group, series), a dot per sample on a shared linear axis from 0: the whole distribution.
std::string svg_strip_plot(const std::string& title, const std::string& unit, const std::vector<StripRow>& rows,
                           const std::vector<std::string>& series_names);

}  // namespace hotrod::bench
