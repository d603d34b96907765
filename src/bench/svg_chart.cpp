// SVG drawing. Axes start at 0 so bar lengths compare honestly; the top is rounded up to a 1-2-5 step.
#include "bench/svg_chart.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace hotrod::bench {
namespace {

const char* kColors[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"};
const char* color(int i) { return kColors[size_t(i) % (sizeof kColors / sizeof kColors[0])]; }

std::string num(const char* f, double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, f, v);
    return buf;
}

// A "nice" step so the axis has about n_ticks divisions: 1, 2 or 5 times a power of ten.
double nice_step(double max_value, int n_ticks) {
    if (max_value <= 0) return 1;
    const double raw = max_value / n_ticks;
    const double mag = std::pow(10.0, std::floor(std::log10(raw)));
    for (double m : {1.0, 2.0, 5.0, 10.0})
        if (raw <= m * mag) return m * mag;
    return 10 * mag;
}

std::string label_value(double v) { return v == 0 ? "0" : v >= 100 ? num("%.0f", v) : v >= 10 ? num("%.1f", v) : num("%.2f", v); }

std::string legend(const std::vector<std::string>& names, double x, double y) {
    std::string s;
    for (size_t i = 0; i < names.size(); ++i) {
        const double lx = x + double(i) * 150;
        s += "<rect x='" + num("%.1f", lx) + "' y='" + num("%.1f", y - 10) + "' width='12' height='12' fill='" + color(int(i)) + "'/>";
        s += "<text x='" + num("%.1f", lx + 16) + "' y='" + num("%.1f", y) + "'>" + html_escape(names[i]) + "</text>";
    }
    return s;
}

}  // namespace

std::string html_escape(std::string_view in) {
    std::string s;
    for (char c : in) {
        switch (c) {
            case '&': s += "&amp;"; break;
            case '<': s += "&lt;"; break;
            case '>': s += "&gt;"; break;
            case '"': s += "&quot;"; break;
            case '\'': s += "&#39;"; break;
            default: s += c;
        }
    }
    return s;
}

std::string svg_grouped_bars(const std::string& title, const std::string& unit, const std::vector<std::string>& groups,
                             const std::vector<BarSeries>& series) {
    const double left = 60, right = 20, top = 40, bottom = 60, plot_h = 240;
    const double bar_w = 28, gap = 30;
    // A group is at least wide enough for its label ("medium (828 chars)"); bars sit in its middle.
    const double bars_w = std::max<double>(1, double(series.size())) * bar_w;
    const double group_w = std::max(bars_w + gap, 150.0);
    const double width = left + right + std::max(560.0, double(groups.size()) * group_w);
    const double height = top + plot_h + bottom;
    double vmax = 0;
    for (const auto& s : series) {
        for (double v : s.values) vmax = std::max(vmax, v);
        for (double v : s.whiskers) vmax = std::max(vmax, v);
    }
    const double step = nice_step(vmax, 5);
    const double top_value = std::max(step, std::ceil(vmax / step) * step);
    auto y_of = [&](double v) { return top + plot_h - v / top_value * plot_h; };

    std::string s = "<svg xmlns='http://www.w3.org/2000/svg' width='" + num("%.0f", width) + "' height='" + num("%.0f", height) +
                    "' font-family='sans-serif' font-size='11'>";
    s += "<text x='" + num("%.0f", left) + "' y='18' font-size='14' font-weight='bold'>" + html_escape(title) + "</text>";
    for (double v = 0; v <= top_value + step / 2; v += step) {
        const double y = y_of(v);
        s += "<line x1='" + num("%.0f", left) + "' x2='" + num("%.0f", width - right) + "' y1='" + num("%.1f", y) + "' y2='" +
             num("%.1f", y) + "' stroke='#ddd'/>";
        s += "<text x='" + num("%.0f", left - 6) + "' y='" + num("%.1f", y + 4) + "' text-anchor='end'>" + label_value(v) + "</text>";
    }
    s += "<text x='12' y='" + num("%.0f", top + plot_h / 2) + "' transform='rotate(-90 12 " + num("%.0f", top + plot_h / 2) +
         ")' text-anchor='middle'>" + html_escape(unit) + "</text>";
    for (size_t g = 0; g < groups.size(); ++g) {
        const double gx = left + (group_w - bars_w) / 2 + double(g) * group_w;
        for (size_t i = 0; i < series.size(); ++i) {
            const double x = gx + double(i) * bar_w;
            const double v = g < series[i].values.size() ? series[i].values[g] : -1;
            const double w = g < series[i].whiskers.size() ? series[i].whiskers[g] : -1;
            if (v >= 0) {
                s += "<rect x='" + num("%.1f", x + 2) + "' y='" + num("%.1f", y_of(v)) + "' width='" + num("%.1f", bar_w - 4) +
                     "' height='" + num("%.1f", top + plot_h - y_of(v)) + "' fill='" + color(int(i)) + "'><title>" +
                     html_escape(series[i].name + " " + groups[g] + ": " + label_value(v) + " " + unit) + "</title></rect>";
                s += "<text x='" + num("%.1f", x + bar_w / 2) + "' y='" + num("%.1f", y_of(std::max(v, w)) - 4) +
                     "' text-anchor='middle' font-size='9'>" + label_value(v) + "</text>";
            }
            if (w >= 0)
                s += "<line x1='" + num("%.1f", x + 4) + "' x2='" + num("%.1f", x + bar_w - 4) + "' y1='" + num("%.1f", y_of(w)) +
                     "' y2='" + num("%.1f", y_of(w)) + "' stroke='#000' stroke-width='2'><title>" +
                     html_escape(series[i].name + " " + groups[g] + " p90: " + label_value(w) + " " + unit) + "</title></line>";
        }
        s += "<text x='" + num("%.1f", gx + double(series.size()) * bar_w / 2) + "' y='" + num("%.0f", top + plot_h + 16) +
             "' text-anchor='middle'>" + html_escape(groups[g]) + "</text>";
    }
    s += "<line x1='" + num("%.0f", left) + "' x2='" + num("%.0f", width - right) + "' y1='" + num("%.0f", top + plot_h) +
         "' y2='" + num("%.0f", top + plot_h) + "' stroke='#000'/>";
    std::vector<std::string> names;
    for (const auto& x : series) names.push_back(x.name);
    s += legend(names, left, top + plot_h + 44);
    return s + "</svg>";
}

std::string svg_strip_plot(const std::string& title, const std::string& unit, const std::vector<StripRow>& rows,
                           const std::vector<std::string>& series_names) {
    const double left = 150, right = 30, top = 40, row_h = 22, plot_w = 560;
    const double height = top + double(rows.size()) * row_h + 60;
    double vmax = 0;
    for (const auto& r : rows)
        for (double v : r.values) vmax = std::max(vmax, v);
    const double step = nice_step(vmax, 6);
    const double top_value = std::max(step, std::ceil(vmax / step) * step);
    auto x_of = [&](double v) { return left + v / top_value * plot_w; };
    const double axis_y = top + double(rows.size()) * row_h;

    std::string s = "<svg xmlns='http://www.w3.org/2000/svg' width='" + num("%.0f", left + plot_w + right) + "' height='" +
                    num("%.0f", height) + "' font-family='sans-serif' font-size='11'>";
    s += "<text x='10' y='18' font-size='14' font-weight='bold'>" + html_escape(title) + "</text>";
    for (double v = 0; v <= top_value + step / 2; v += step) {
        const double x = x_of(v);
        s += "<line x1='" + num("%.1f", x) + "' x2='" + num("%.1f", x) + "' y1='" + num("%.0f", top) + "' y2='" +
             num("%.0f", axis_y) + "' stroke='#ddd'/>";
        s += "<text x='" + num("%.1f", x) + "' y='" + num("%.0f", axis_y + 14) + "' text-anchor='middle'>" + label_value(v) + "</text>";
    }
    s += "<text x='" + num("%.0f", left + plot_w / 2) + "' y='" + num("%.0f", axis_y + 30) + "' text-anchor='middle'>" +
         html_escape(unit) + "</text>";
    for (size_t i = 0; i < rows.size(); ++i) {
        const double cy = top + (double(i) + 0.5) * row_h;
        s += "<text x='" + num("%.0f", left - 8) + "' y='" + num("%.1f", cy + 4) + "' text-anchor='end'>" +
             html_escape(rows[i].label) + "</text>";
        for (size_t k = 0; k < rows[i].values.size(); ++k) {
            // A small vertical jitter by sample index keeps equal values visible as separate dots.
            const double jy = cy + (double(k % 5) - 2.0) * 2.0;
            s += "<circle cx='" + num("%.1f", x_of(rows[i].values[k])) + "' cy='" + num("%.1f", jy) + "' r='3' fill='" +
                 color(rows[i].series) + "' fill-opacity='0.6'/>";
        }
    }
    s += legend(series_names, left, axis_y + 50);
    return s + "</svg>";
}

}  // namespace hotrod::bench
