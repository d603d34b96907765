// Prometheus text exposition: "# HELP" / "# TYPE" before each family, label values quoted, histogram buckets
// cumulative with le="+Inf" equal to _count (prometheus.io/docs/instrumenting/exposition_formats).
#include "server/metrics.h"

#include <charconv>

namespace hotrod::server {
namespace {

// Shortest text that reads back to the same double ("0.005", not "0.0050000000000000001").
std::string number(double v) {
    char buf[64];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    return ec == std::errc() ? std::string(buf, end) : std::string("NaN");
}

void family(std::string& out, const char* name, const char* type, const char* help) {
    out += "# HELP ";
    out += name;
    out += ' ';
    out += help;
    out += "\n# TYPE ";
    out += name;
    out += ' ';
    out += type;
    out += '\n';
}

void sample(std::string& out, const char* name, double v) {
    out += name;
    out += ' ';
    out += number(v);
    out += '\n';
}

// Label values here are our own endpoint names, but escape anyway: \ " and newline are the format's specials.
std::string escape_label(const std::string& s) {
    std::string out;
    for (char c : s) {
        if (c == '\\' || c == '"') out += '\\';
        if (c == '\n') {
            out += "\\n";
            continue;
        }
        out += c;
    }
    return out;
}

}  // namespace

void Histogram::observe(double seconds) {
    size_t i = 0;
    while (i < kBoundsSeconds.size() && seconds > kBoundsSeconds[i]) ++i;
    ++counts_[i];
    sum_ += seconds;
    ++count_;
}

void Histogram::render(std::string& out, const std::string& name) const {
    uint64_t cumulative = 0;
    for (size_t i = 0; i <= kBoundsSeconds.size(); ++i) {
        cumulative += counts_[i];
        out += name + "_bucket{le=\"" + (i < kBoundsSeconds.size() ? number(kBoundsSeconds[i]) : "+Inf") +
               "\"} " + std::to_string(cumulative) + "\n";
    }
    out += name + "_sum " + number(sum_) + "\n";
    out += name + "_count " + std::to_string(count_) + "\n";
}

void Metrics::record_request(const std::string& endpoint, int status) {
    std::lock_guard lock(mu_);
    ++requests_[{endpoint, status}];
}

void Metrics::record_ttft(double ms) {
    std::lock_guard lock(mu_);
    ttft_.observe(ms / 1000.0);
}

void Metrics::record_latency(double ms) {
    std::lock_guard lock(mu_);
    latency_.observe(ms / 1000.0);
}

void Metrics::add_in_flight(int delta) {
    std::lock_guard lock(mu_);
    in_flight_ += delta;
}

int Metrics::in_flight() const {
    std::lock_guard lock(mu_);
    return in_flight_;
}

std::string Metrics::render(const engine::EngineStats* stats, HttpGauges http) const {
    std::string out;
    {
        std::lock_guard lock(mu_);
        family(out, "hotrod_requests_total", "counter", "HTTP requests answered, by endpoint and status.");
        for (const auto& [key, n] : requests_)
            out += "hotrod_requests_total{endpoint=\"" + escape_label(key.first) + "\",status=\"" +
                   std::to_string(key.second) + "\"} " + std::to_string(n) + "\n";
        family(out, "hotrod_requests_in_flight", "gauge", "Generation requests being answered now.");
        sample(out, "hotrod_requests_in_flight", in_flight_);
        family(out, "hotrod_time_to_first_token_seconds", "histogram",
               "Time from arrival to the first generated token.");
        ttft_.render(out, "hotrod_time_to_first_token_seconds");
        family(out, "hotrod_request_latency_seconds", "histogram",
               "Time from arrival to the last generated token.");
        latency_.render(out, "hotrod_request_latency_seconds");
    }
    family(out, "hotrod_http_connections", "gauge", "HTTP connections open: served or waiting for a thread.");
    sample(out, "hotrod_http_connections", http.connections);
    family(out, "hotrod_http_connections_served", "gauge", "HTTP connections being served by a worker thread.");
    sample(out, "hotrod_http_connections_served", http.served);
    family(out, "hotrod_model_loaded", "gauge", "1 once the model is loaded and the engine runs.");
    sample(out, "hotrod_model_loaded", stats ? 1 : 0);
    if (!stats) return out;
    const engine::EngineStats& s = *stats;
    family(out, "hotrod_queue_depth", "gauge", "Requests waiting for a slot.");
    sample(out, "hotrod_queue_depth", s.queue_depth);
    family(out, "hotrod_busy_slots", "gauge", "Sequences being prefilled or decoded.");
    sample(out, "hotrod_busy_slots", s.busy_slots);
    family(out, "hotrod_kv_blocks_used", "gauge", "KV cache blocks held by live sequences.");
    sample(out, "hotrod_kv_blocks_used", s.kv_blocks_used);
    family(out, "hotrod_kv_blocks_cached", "gauge", "KV cache blocks kept for prefix reuse (evictable).");
    sample(out, "hotrod_kv_blocks_cached", s.kv_blocks_cached);
    family(out, "hotrod_kv_blocks_total", "gauge", "KV cache blocks in the pool.");
    sample(out, "hotrod_kv_blocks_total", s.kv_blocks_total);
    family(out, "hotrod_prompt_tokens_total", "counter", "Prompt tokens of every request.");
    sample(out, "hotrod_prompt_tokens_total", double(s.prompt_tokens));
    family(out, "hotrod_generated_tokens_total", "counter", "Tokens generated.");
    sample(out, "hotrod_generated_tokens_total", double(s.generated_tokens));
    family(out, "hotrod_cached_tokens_total", "counter", "Prompt tokens whose KV came from the prefix cache.");
    sample(out, "hotrod_cached_tokens_total", double(s.cached_tokens));
    family(out, "hotrod_prefix_cache_lookups_total", "counter", "Prompt blocks looked up in the prefix cache.");
    sample(out, "hotrod_prefix_cache_lookups_total", double(s.prefix_lookups));
    family(out, "hotrod_prefix_cache_hits_total", "counter", "Prompt blocks found in the prefix cache.");
    sample(out, "hotrod_prefix_cache_hits_total", double(s.prefix_hits));
    family(out, "hotrod_prefix_cache_hit_rate", "gauge", "Prefix cache hits over lookups since start (0 before any).");
    sample(out, "hotrod_prefix_cache_hit_rate",
           s.prefix_lookups ? double(s.prefix_hits) / double(s.prefix_lookups) : 0.0);
    family(out, "hotrod_engine_steps_total", "counter", "Forward steps run by the engine.");
    sample(out, "hotrod_engine_steps_total", double(s.steps));
    family(out, "hotrod_engine_step_seconds_total", "counter",
           "Wall time of engine steps: admission, batch building, forward, sampling, events.");
    sample(out, "hotrod_engine_step_seconds_total", s.step_seconds);
    family(out, "hotrod_engine_forward_seconds_total", "counter",
           "Of the steps' time, in the model's forward (device work and the sampled rows' copy included).");
    sample(out, "hotrod_engine_forward_seconds_total", s.forward_seconds);
    family(out, "hotrod_forced_tokens_total", "counter", "Tokens appended by grammar jump-forward.");
    sample(out, "hotrod_forced_tokens_total", double(s.forced_tokens));
    family(out, "hotrod_preemptions_total", "counter", "Sequences whose KV was dropped for room and recomputed.");
    sample(out, "hotrod_preemptions_total", double(s.preemptions));
    for (const backend::BackendCounter& c : s.backend_counters) {
        const std::string name = "hotrod_backend_" + std::string(c.name) + "_total";
        family(out, name.c_str(), "counter", c.help);
        sample(out, name.c_str(), double(c.value));
    }
    return out;
}

}  // namespace hotrod::server
