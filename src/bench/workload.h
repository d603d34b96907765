// A benchmark workload (the format of shared/workloads/phase_classification.json): a system prompt, named
// payloads in file order, max_tokens, temperature, and what a valid reply holds (its JSON keys and, for the
// keys that have them, the allowed values). Loading validates every field and names the file and key.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hotrod::bench {

struct Payload {
    std::string name;  // "small", "medium", "large"
    std::string text;  // the user message
};

struct Workload {
    std::string name;
    std::string system;                  // system prompt, sent first
    std::vector<Payload> payloads;       // in file order
    int max_tokens = 80;
    double temperature = 0.0;
    std::vector<std::string> keys;       // every valid reply has exactly these keys ("phase", "scope")
    std::map<std::string, std::vector<std::string>> allowed;  // key -> allowed values ("phase" -> phases)
    std::string enum_key;                // the key whose answers are compared across targets ("phase")
    std::string expected_value;          // the expected answer for enum_key ("testing"); may be empty
    int max_words = 8;                   // free-text keys ("scope") hold at most this many words

    const Payload* payload(std::string_view name) const;
    // The payload TEST 2, 3 and 4 use: "medium" when present, else the middle one.
    const Payload& medium() const;
};

// Throws std::runtime_error "FILE: key 'K': expected E, found F" on a missing or ill-typed field.
Workload parse_workload(std::string_view json_text, const std::string& file_name);
Workload load_workload(const std::string& path);

}  // namespace hotrod::bench
