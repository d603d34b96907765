// Workload loading. Optional fields beyond the shared format: "keys" (default ["phase", "scope"]), "allowed"
// ({key: [values]}; "phases" is shorthand for allowed["phase"]), "enum_key" (default: the first key that has
// allowed values) and "max_words" (default 8, the limit the system prompt states for "scope").
#include "bench/workload.h"

#include <fstream>
#include <sstream>
#include <stdexcept>

#include <nlohmann/json.hpp>

namespace hotrod::bench {
namespace {

using OJson = nlohmann::ordered_json;

[[noreturn]] void fail(const std::string& file, const std::string& key, const std::string& expected,
                       const std::string& found) {
    throw std::runtime_error(file + ": key '" + key + "': expected " + expected + ", found " + found);
}

std::string type_of(const OJson& v) { return v.is_null() ? "nothing" : std::string(v.type_name()); }

std::vector<std::string> string_list(const OJson& v, const std::string& file, const std::string& key) {
    if (!v.is_array() || v.empty()) fail(file, key, "a non-empty array of strings", type_of(v));
    std::vector<std::string> out;
    for (const auto& s : v) {
        if (!s.is_string()) fail(file, key, "a string element", type_of(s));
        out.push_back(s.get<std::string>());
    }
    return out;
}

}  // namespace

const Payload* Workload::payload(std::string_view want) const {
    for (const auto& p : payloads)
        if (p.name == want) return &p;
    return nullptr;
}

const Payload& Workload::medium() const {
    if (const Payload* p = payload("medium")) return *p;
    return payloads[payloads.size() / 2];
}

Workload parse_workload(std::string_view json_text, const std::string& file) {
    OJson j;
    try {
        j = OJson::parse(json_text);
    } catch (const nlohmann::json::parse_error& e) {
        throw std::runtime_error(file + ": not JSON at byte " + std::to_string(e.byte) + ": " + e.what());
    }
    if (!j.is_object()) fail(file, "(root)", "an object", type_of(j));
    Workload w;
    auto get_string = [&](const char* key, bool required) -> std::string {
        if (!j.contains(key)) {
            if (required) fail(file, key, "a string", "nothing");
            return {};
        }
        if (!j[key].is_string()) fail(file, key, "a string", type_of(j[key]));
        return j[key].get<std::string>();
    };
    w.name = get_string("name", false);
    w.system = get_string("system", true);
    w.expected_value = get_string("expected_phase", false);

    if (!j.contains("max_tokens") || !j["max_tokens"].is_number_integer() || j["max_tokens"].get<long>() < 1 ||
        j["max_tokens"].get<long>() > 1'000'000)
        fail(file, "max_tokens", "an integer in [1, 1000000]", j.contains("max_tokens") ? j["max_tokens"].dump() : "nothing");
    w.max_tokens = j["max_tokens"].get<int>();
    if (j.contains("temperature")) {
        if (!j["temperature"].is_number()) fail(file, "temperature", "a number", type_of(j["temperature"]));
        w.temperature = j["temperature"].get<double>();
    }
    if (!j.contains("payloads") || !j["payloads"].is_object() || j["payloads"].empty())
        fail(file, "payloads", "a non-empty object of name -> text", j.contains("payloads") ? type_of(j["payloads"]) : "nothing");
    for (const auto& [name, text] : j["payloads"].items()) {
        if (!text.is_string()) fail(file, "payloads." + name, "a string", type_of(text));
        w.payloads.push_back({name, text.get<std::string>()});
    }

    w.keys = j.contains("keys") ? string_list(j["keys"], file, "keys") : std::vector<std::string>{"phase", "scope"};
    if (j.contains("phases")) w.allowed["phase"] = string_list(j["phases"], file, "phases");
    if (j.contains("allowed")) {
        if (!j["allowed"].is_object()) fail(file, "allowed", "an object of key -> [values]", type_of(j["allowed"]));
        for (const auto& [key, values] : j["allowed"].items())
            w.allowed[key] = string_list(values, file, "allowed." + key);
    }
    for (const auto& [key, values] : w.allowed) {
        bool known = false;
        for (const auto& k : w.keys) known = known || k == key;
        if (!known) fail(file, "allowed." + key, "one of the reply keys", "a key not in 'keys'");
    }
    if (j.contains("enum_key")) {
        w.enum_key = get_string("enum_key", true);
    } else {
        for (const auto& k : w.keys)
            if (w.allowed.count(k)) {
                w.enum_key = k;
                break;
            }
    }
    if (j.contains("max_words")) {
        if (!j["max_words"].is_number_integer() || j["max_words"].get<long>() < 1)
            fail(file, "max_words", "a positive integer", j["max_words"].dump());
        w.max_words = j["max_words"].get<int>();
    }
    return w;
}

Workload load_workload(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error(path + ": cannot open workload file");
    std::ostringstream ss;
    ss << in.rdbuf();
    return parse_workload(ss.str(), path);
}

}  // namespace hotrod::bench
