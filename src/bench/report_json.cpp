// JSON output. Times are milliseconds; -1 marks a figure the reply did not give (no stream, no usage).
#include "bench/report_json.h"

#include "bench/request.h"
#include "bench/summary.h"

namespace hotrod::bench {

nlohmann::json json_report(const Workload& w, const BenchResult& r) {
    const auto& o = r.options;
    nlohmann::json j;
    j["tool"] = "hotrod bench";
    j["date"] = r.date;
    j["host"] = r.host;
    j["workload"] = {{"name", w.name}, {"path", r.workload_path}, {"max_tokens", w.max_tokens}, {"temperature", w.temperature}};
    j["options"] = {{"rounds", o.rounds},
                    {"sequential_calls", o.sequential_calls},
                    {"concurrency", o.concurrency},
                    {"calls_per_slot", o.calls_per_slot},
                    {"timeout_ms", o.timeout_ms},
                    {"schema", o.request.schema},
                    {"fixed_length", o.request.fixed_length},
                    {"stream", o.request.stream},
                    {"percentile_method", "linear interpolation between closest ranks (numpy 'linear')"}};
    j["request_body_medium"] = chat_request(w, w.medium(), o.request);
    j["targets"] = nlohmann::json::array();
    for (const auto& t : r.targets) {
        nlohmann::json jt = {{"name", t.spec.name},
                             {"url", t.url},
                             {"spawn_command", t.spec.spawn_command},
                             {"model_id", t.model_id},
                             {"alive", t.alive},
                             {"error", t.error},
                             {"ready_ms", t.ready_ms},
                             {"log_path", t.log_path},
                             {"samples", nlohmann::json::array()}};
        for (const auto& s : t.samples) {
            const Reply& y = s.reply;
            jt["samples"].push_back({{"test", s.test},
                                     {"payload", s.payload},
                                     {"concurrency", s.concurrency},
                                     {"index", s.index},
                                     {"start_ms", s.start_ms},
                                     {"end_ms", s.end_ms},
                                     {"latency_ms", y.latency_ms},
                                     {"ttft_ms", y.ttft_ms},
                                     {"tokens_per_s", y.tokens_per_s},
                                     {"http_status", y.http_status},
                                     {"error", y.error},
                                     {"streamed", y.streamed},
                                     {"n_prompt_tokens", y.n_prompt_tokens},
                                     {"n_completion_tokens", y.n_completion_tokens},
                                     {"finish_reason", y.finish_reason},
                                     {"content", y.content},
                                     {"reasoning_content", y.reasoning},
                                     {"error_body", y.raw_error_body},
                                     {"valid", s.verdict.valid},
                                     {"invalid_reason", s.verdict.reason},
                                     {"answer", s.verdict.answer}});
        }
        j["targets"].push_back(std::move(jt));
    }
    j["verdict"] = verdict_lines(w, r);
    nlohmann::json table = nlohmann::json::array();
    for (const auto& row : summary_table(w, r))
        table.push_back({{"metric", row.metric}, {"cells", row.cells}, {"winner", row.winner}});
    j["summary"] = table;
    return j;
}

}  // namespace hotrod::bench
