// Typed reads of optional request fields. Each returns nullopt when the field is absent or null (OpenAI clients
// send null for "not set"), and throws a 400 ApiError naming the field when it has the wrong type or range, so
// handlers read a field in one line and never see a malformed value.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace hotrod::server {

// The request body as an object: invalid JSON, a non-object or nesting deeper than kMaxJsonDepth is a 400.
inline constexpr int kMaxJsonDepth = 256;  // room for a 64-level schema (json_schema.cpp) inside its envelope
nlohmann::ordered_json parse_body(std::string_view text);

std::optional<bool> get_bool(const nlohmann::ordered_json& obj, const char* key);
std::optional<double> get_number(const nlohmann::ordered_json& obj, const char* key);  // finite
std::optional<int64_t> get_int(const nlohmann::ordered_json& obj, const char* key);    // integer-valued, fits int64
std::optional<std::string> get_string(const nlohmann::ordered_json& obj, const char* key);
// Present and an object (else nullopt / 400).
const nlohmann::ordered_json* get_object(const nlohmann::ordered_json& obj, const char* key);

// The JSON type name as error messages say it ("string", "number", "array", ...).
const char* json_type_name(const nlohmann::ordered_json& v);

}  // namespace hotrod::server
