// The /v1/embeddings wire format, without the model: what a body asks for (the inputs: a string, an array of
// strings, an array of token ids, or an array of token-id arrays, as OpenAI accepts them; the model name; the
// encoding), and the reply body. Every malformed field is a 400 ApiError naming it; `user` is ignored, unknown
// fields too.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace hotrod::server {

struct EmbeddingInput {
    std::string text;           // tokenized by the handler (BOS as the vocabulary asks), unless is_ids
    std::vector<int32_t> ids;   // given as token ids: used as they are
    bool is_ids = false;
};

struct EmbeddingsRequest {
    std::string model;                   // as asked; empty when absent
    std::vector<EmbeddingInput> inputs;  // at least one, none empty
    bool base64 = false;                 // encoding_format "base64": little-endian float32 bytes, base64
};

inline constexpr size_t kMaxEmbeddingInputs = 2048;  // OpenAI's limit on inputs per request

// n_vocab: token ids must be below it. `dimensions` is refused (400, param "dimensions"): no model served here
// was trained to be cut short (Matryoshka), so a shortened vector would not be a meaningful embedding.
EmbeddingsRequest parse_embeddings_request(const nlohmann::ordered_json& body, int32_t n_vocab);

// RFC 4648 base64 of the float32 values' little-endian bytes, as OpenAI's encoding_format "base64" sends them.
std::string base64_floats(const std::vector<float>& values);

// {"object": "list", "data": [{"object": "embedding", "index": i, "embedding": [...] or "base64"}], "model",
// "usage": {"prompt_tokens", "total_tokens"}}. Floats are written in their shortest form that reads back as the
// same float32 (a non-finite value, which JSON cannot hold, as null).
std::string embeddings_body(const std::string& model, const std::vector<std::vector<float>>& embeddings, bool base64,
                            int64_t prompt_tokens);

}  // namespace hotrod::server
