// OpenAI-style error bodies; null param/code when absent, as the API itself sends them.
#include "server/api_error.h"

namespace hotrod::server {

ApiError::ApiError(int status, std::string message, std::string type, std::string param, std::string code)
    : std::runtime_error(std::move(message)),
      status_(status),
      type_(std::move(type)),
      param_(std::move(param)),
      code_(std::move(code)) {}

nlohmann::json ApiError::body() const {
    nlohmann::json e = {{"message", what()}, {"type", type_}, {"param", nullptr}, {"code", nullptr}};
    if (!param_.empty()) e["param"] = param_;
    if (!code_.empty()) e["code"] = code_;
    return {{"error", std::move(e)}};
}

ApiError bad_request(std::string message, std::string param, std::string code) {
    return ApiError(400, std::move(message), "invalid_request_error", std::move(param), std::move(code));
}
ApiError unauthorized(std::string message) {
    return ApiError(401, std::move(message), "authentication_error", {}, "invalid_api_key");
}
ApiError not_found(std::string message, std::string param, std::string code) {
    return ApiError(404, std::move(message), "not_found_error", std::move(param), std::move(code));
}
ApiError method_not_allowed(std::string message) {
    return ApiError(405, std::move(message), "invalid_request_error", {}, "method_not_allowed");
}
ApiError payload_too_large(std::string message) {
    return ApiError(413, std::move(message), "invalid_request_error", {}, "payload_too_large");
}
ApiError unavailable(std::string message, std::string code) {
    return ApiError(503, std::move(message), "unavailable_error", {}, std::move(code));
}
ApiError internal_error(std::string message) {
    return ApiError(500, std::move(message), "server_error", {}, {});
}

}  // namespace hotrod::server
