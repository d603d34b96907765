// Parsing of /v1/embeddings bodies (see embeddings_request.h).
#include "server/embeddings_request.h"

#include <algorithm>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstring>

#include "server/api_error.h"
#include "server/json_fields.h"
#include "server/reply.h"

namespace hotrod::server {
namespace {

constexpr const char* kShapes =
    "'input' must be a string, an array of strings, an array of token ids or an array of token-id arrays";

bool is_token_array(const nlohmann::ordered_json& v) {
    if (!v.is_array() || v.empty()) return false;
    for (const auto& x : v)
        if (!x.is_number_integer()) return false;
    return true;
}

std::vector<int32_t> read_ids(const nlohmann::ordered_json& v, int32_t n_vocab, const std::string& where) {
    std::vector<int32_t> ids;
    ids.reserve(v.size());
    for (const auto& x : v) {
        const int64_t id = x.get<int64_t>();
        if (id < 0 || id >= n_vocab)
            throw bad_request(where + " holds token id " + std::to_string(id) + ", outside the vocabulary [0, " +
                                  std::to_string(n_vocab) + ")",
                              "input");
        ids.push_back(int32_t(id));
    }
    return ids;
}

EmbeddingInput text_input(const nlohmann::ordered_json& v, const std::string& where) {
    const std::string& s = v.get_ref<const std::string&>();
    if (s.empty()) throw bad_request(where + " is an empty string; every input needs at least one token", "input");
    EmbeddingInput in;
    in.text = s;
    return in;
}

}  // namespace

EmbeddingsRequest parse_embeddings_request(const nlohmann::ordered_json& body, int32_t n_vocab) {
    EmbeddingsRequest r;
    r.model = get_string(body, "model").value_or("");

    if (const std::optional<std::string> format = get_string(body, "encoding_format")) {
        if (*format == "base64") r.base64 = true;
        else if (*format != "float")
            throw bad_request("'encoding_format' must be \"float\" or \"base64\", not \"" + *format + "\"",
                              "encoding_format");
    }
    if (auto it = body.find("dimensions"); it != body.end() && !it->is_null())
        throw bad_request("'dimensions' is not supported: the served model's embeddings cannot be shortened "
                          "(it was not trained for it); leave it out to get all of them",
                          "dimensions");

    auto it = body.find("input");
    if (it == body.end() || it->is_null()) throw bad_request("'input' is required", "input");
    const nlohmann::ordered_json& input = *it;
    if (input.is_string()) {
        r.inputs.push_back(text_input(input, "'input'"));
    } else if (input.is_array()) {
        if (input.empty()) throw bad_request("'input' is an empty array; give at least one input", "input");
        if (is_token_array(input)) {
            EmbeddingInput in;
            in.ids = read_ids(input, n_vocab, "'input'");
            in.is_ids = true;
            r.inputs.push_back(std::move(in));
        } else {
            if (input.size() > kMaxEmbeddingInputs)
                throw bad_request("'input' has " + std::to_string(input.size()) + " entries, at most " +
                                      std::to_string(kMaxEmbeddingInputs) + " are allowed",
                                  "input");
            for (size_t i = 0; i < input.size(); ++i) {
                const auto& v = input[i];
                const std::string where = "'input[" + std::to_string(i) + "]'";
                if (v.is_string()) {
                    r.inputs.push_back(text_input(v, where));
                } else if (v.is_array() && v.empty()) {
                    throw bad_request(where + " is an empty array; every input needs at least one token", "input");
                } else if (is_token_array(v)) {
                    EmbeddingInput in;
                    in.ids = read_ids(v, n_vocab, where);
                    in.is_ids = true;
                    r.inputs.push_back(std::move(in));
                } else {
                    throw bad_request(std::string(kShapes) + "; " + where + " is " + json_type_name(v), "input");
                }
            }
        }
    } else {
        throw bad_request(std::string(kShapes) + ", not " + json_type_name(input), "input");
    }
    return r;
}

std::string base64_floats(const std::vector<float>& values) {
    static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string bytes(values.size() * sizeof(float), '\0');
    for (size_t i = 0; i < values.size(); ++i) {
        uint32_t u;
        std::memcpy(&u, &values[i], sizeof u);
        if constexpr (std::endian::native == std::endian::big) u = __builtin_bswap32(u);
        std::memcpy(&bytes[i * sizeof u], &u, sizeof u);
    }
    std::string out;
    out.reserve((bytes.size() + 2) / 3 * 4);
    for (size_t i = 0; i < bytes.size(); i += 3) {
        const size_t n = std::min<size_t>(3, bytes.size() - i);
        uint32_t v = uint32_t(uint8_t(bytes[i])) << 16;
        if (n > 1) v |= uint32_t(uint8_t(bytes[i + 1])) << 8;
        if (n > 2) v |= uint32_t(uint8_t(bytes[i + 2]));
        out += kAlphabet[(v >> 18) & 63];
        out += kAlphabet[(v >> 12) & 63];
        out += n > 1 ? kAlphabet[(v >> 6) & 63] : '=';
        out += n > 2 ? kAlphabet[v & 63] : '=';
    }
    return out;
}

std::string embeddings_body(const std::string& model, const std::vector<std::vector<float>>& embeddings, bool base64,
                            int64_t prompt_tokens) {
    std::string out = R"({"object":"list","data":[)";
    char num[32];
    for (size_t i = 0; i < embeddings.size(); ++i) {
        if (i > 0) out += ',';
        out += R"({"object":"embedding","index":)" + std::to_string(i) + R"(,"embedding":)";
        if (base64) {
            out += '"' + base64_floats(embeddings[i]) + '"';
        } else {
            out += '[';
            for (size_t j = 0; j < embeddings[i].size(); ++j) {
                if (j > 0) out += ',';
                const float v = embeddings[i][j];
                if (!std::isfinite(v)) {
                    out += "null";
                    continue;
                }
                const auto r = std::to_chars(num, num + sizeof num, v);
                out.append(num, r.ptr);
            }
            out += ']';
        }
        out += '}';
    }
    out += R"(],"model":)" + dump_json(model);
    out += R"(,"usage":{"prompt_tokens":)" + std::to_string(prompt_tokens) + R"(,"total_tokens":)" +
           std::to_string(prompt_tokens) + "}}";
    return out;
}

}  // namespace hotrod::server
