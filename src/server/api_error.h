// ApiError: one failed request as the OpenAI API reports it: an HTTP status and the body
// {"error": {"message", "type", "param", "code"}}. Handlers throw it; one wrapper around every route turns it
// (and any other exception, as a 500) into the response, so no handler writes error bodies itself.
#pragma once

#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

namespace hotrod::server {

class ApiError : public std::runtime_error {
public:
    // type: OpenAI's error type ("invalid_request_error", "authentication_error", "not_found_error", ...).
    // param: the request field at fault, empty when none. code: a machine-readable code, empty when none.
    ApiError(int status, std::string message, std::string type, std::string param = {}, std::string code = {});

    int status() const { return status_; }
    const std::string& type() const { return type_; }
    const std::string& param() const { return param_; }
    const std::string& code() const { return code_; }

    nlohmann::json body() const;

private:
    int status_;
    std::string type_, param_, code_;
};

// The common cases, so a status always comes with its usual type.
ApiError bad_request(std::string message, std::string param = {}, std::string code = {});   // 400
ApiError unauthorized(std::string message);                                                 // 401
ApiError not_found(std::string message, std::string param = {}, std::string code = {});     // 404
ApiError method_not_allowed(std::string message);                                           // 405
ApiError payload_too_large(std::string message);                                            // 413
ApiError unavailable(std::string message, std::string code = {});                           // 503
ApiError internal_error(std::string message);                                               // 500

}  // namespace hotrod::server
