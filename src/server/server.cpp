// Routes, the API-key check, CORS, the one error wrapper, and the small endpoints (/health, /v1/models, /metrics,
// /tokenize, /detokenize). The generation endpoints live in generation_handler.cpp (/v1/responses goes through it
// from responses_handler.cpp), /v1/embeddings in embeddings_handler.cpp; connection limits in http_gate.cpp.
#include "server/server.h"
#include "server/webui.h"

#include <httplib.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <stdexcept>
#include <thread>

#include "server/api_error.h"
#include "server/embeddings_handler.h"
#include "server/responses_handler.h"
#include "server/generation_handler.h"
#include "server/http_gate.h"
#include "server/json_fields.h"
#include "server/reply.h"
#include "server/server_state.h"

namespace hotrod::server {
namespace {

using Handler = std::function<void(const httplib::Request&, httplib::Response&)>;

void send_json(httplib::Response& res, int status, const nlohmann::json& body) {
    res.status = status;
    res.set_content(dump_json(body), "application/json");
}

void send_error(httplib::Response& res, const ApiError& e) {
    send_json(res, e.status(), e.body());
    // Busy, loading or stopping: worth a retry (against this server or another); a failed load is not.
    if (e.status() == 503 && e.code() != "model_load_failed") res.set_header("Retry-After", "1");
}

// Every handler runs inside this: an ApiError becomes its status and body, anything else a 500, and each answer
// is counted in /metrics under the endpoint's name (generation replies count themselves when they end).
httplib::Server::Handler wrap(SharedState& st, std::string endpoint, bool counts_itself, Handler h) {
    return [&st, endpoint = std::move(endpoint), counts_itself, h = std::move(h)](const httplib::Request& req,
                                                                                 httplib::Response& res) {
        GatedHttpServer::request_read();  // the body is in: the body timeout stops counting
        try {
            h(req, res);
            if (!counts_itself) st.metrics.record_request(endpoint, res.status);
            return;
        } catch (const ApiError& e) {
            send_error(res, e);
        } catch (const std::exception& e) {
            send_error(res, internal_error(e.what()));
        }
        st.metrics.record_request(endpoint, res.status);
        // Refused generation requests get a log line too (the served ones log theirs when they finish).
        if (counts_itself)
            std::fprintf(stderr, "hotrod serve: %s refused %d: %s\n", endpoint.c_str(), res.status,
                         res.body.substr(0, 300).c_str());
    };
}

// Constant-time comparison, so the key cannot be guessed byte by byte from response times: every byte of the
// presented value is compared, whatever differs first.
bool same_secret(std::string_view given, std::string_view key) {
    unsigned diff = unsigned(given.size() != key.size());
    for (size_t i = 0; i < given.size(); ++i)
        diff |= unsigned(uint8_t(given[i]) ^ uint8_t(i < key.size() ? key[i] : 0));
    return diff == 0;
}

// A request's key: "Authorization: Bearer KEY" (OpenAI's clients) or "x-api-key: KEY" (Anthropic's). Every
// configured key is compared, with no early exit, so the time does not tell which one came closest.
bool key_accepted(const std::vector<std::string>& keys, const httplib::Request& req) {
    const std::string auth = req.get_header_value("Authorization");
    const bool bearer = auth.starts_with("Bearer ");
    const bool x_key = req.has_header("x-api-key");
    const std::string x_value = req.get_header_value("x-api-key");
    bool ok = false;
    for (const std::string& key : keys) {
        ok |= bearer && same_secret(std::string_view(auth).substr(7), key);
        ok |= x_key && same_secret(x_value, key);
    }
    return ok;
}

// Routes answered without a key: /health always (load balancers probe it), /metrics with --metrics-public.
bool is_public(const ServeOptions& o, const std::string& path) {
    return path == "/health" || (o.metrics_public && path == "/metrics") || (o.webui && path == "/");
}

// The Access-Control-Allow-Origin value for this request: "" when CORS is off (no --cors-origin), the request has
// no Origin or names one not listed; "*" when "*" is listed; else the origin itself.
std::string cors_allow_origin(const ServeOptions& o, const httplib::Request& req) {
    if (o.cors_origins.empty() || !req.has_header("Origin")) return {};
    const std::string origin = req.get_header_value("Origin");
    for (const std::string& allowed : o.cors_origins) {
        if (allowed == "*") return "*";
        if (allowed == origin) return origin;
    }
    return {};
}

std::string model_name_from_path(const ServeOptions& opt) {
    if (!opt.alias.empty()) return opt.alias;
    std::string stem = std::filesystem::path(opt.model_path).filename().string();
    if (stem.ends_with(".gguf")) stem.resize(stem.size() - 5);
    return stem;
}

void handle_health(SharedState& st, httplib::Response& res) {
    switch (st.state.load()) {
        case ServerState::ready: {
            nlohmann::json body = {{"status", "ok"}};
            if (auto m = st.model()) body["device"] = m->device;  // which backend runs the model
            send_json(res, 200, body);
            return;
        }
        case ServerState::loading: throw unavailable("Loading model", "model_loading");
        case ServerState::failed: throw unavailable("the model failed to load: " + st.load_error, "model_load_failed");
        case ServerState::shutting_down: throw unavailable("the server is shutting down", "shutting_down");
    }
}

void handle_models(SharedState& st, httplib::Response& res) {
    nlohmann::json model = {{"id", model_name_from_path(st.opt)},
                            {"object", "model"},
                            {"created", st.start_unix},
                            {"owned_by", "hotrod"}};
    if (auto m = st.model()) model["meta"] = {{"n_vocab", m->n_vocab}, {"n_ctx", m->max_context}};
    send_json(res, 200, {{"object", "list"}, {"data", nlohmann::json::array({std::move(model)})}});
}

void handle_metrics(SharedState& st, httplib::Response& res) {
    std::shared_ptr<LoadedModel> m = st.model();
    std::string text;
    HttpGauges http;
    if (st.http) http = {st.http->n_connections(), st.http->n_served()};
    if (m) {
        const engine::EngineStats stats = m->engine->stats();
        text = st.metrics.render(&stats, http);
    } else {
        text = st.metrics.render(nullptr, http);
    }
    res.status = 200;
    res.set_content(text, "text/plain; version=0.0.4; charset=utf-8");
}

// llama-server's shapes: {"content", "add_special" (false), "parse_special" (true), "with_pieces" (false)}.
void handle_tokenize(SharedState& st, const httplib::Request& req, httplib::Response& res) {
    std::shared_ptr<LoadedModel> m = require_model(st);
    const auto body = parse_body(req.body);
    const std::optional<std::string> content = get_string(body, "content");
    if (!content) throw bad_request("'content' is required", "content");
    const bool add_special = get_bool(body, "add_special").value_or(false);
    const bool parse_special = get_bool(body, "parse_special").value_or(true);
    const bool with_pieces = get_bool(body, "with_pieces").value_or(false);
    const std::vector<text::TokenId> ids = m->tok->encode(*content, add_special, parse_special);
    nlohmann::json tokens = nlohmann::json::array();
    for (text::TokenId id : ids) {
        if (with_pieces) tokens.push_back({{"id", id}, {"piece", std::string(m->tok->piece(id, true))}});
        else tokens.push_back(id);
    }
    send_json(res, 200, {{"tokens", std::move(tokens)}});
}

void handle_detokenize(SharedState& st, const httplib::Request& req, httplib::Response& res) {
    std::shared_ptr<LoadedModel> m = require_model(st);
    const auto body = parse_body(req.body);
    auto it = body.find("tokens");
    if (it == body.end() || !it->is_array()) throw bad_request("'tokens' must be an array of token ids", "tokens");
    std::vector<text::TokenId> ids;
    for (const auto& v : *it) {
        if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() >= m->n_vocab)
            throw bad_request("'tokens' must hold token ids in [0, " + std::to_string(m->n_vocab) + ")", "tokens");
        ids.push_back(text::TokenId(v.get<int64_t>()));
    }
    send_json(res, 200, {{"content", m->tok->decode(ids, /*special=*/true)}});
}

}  // namespace

Server::Server(ServeOptions opt) : st_(std::make_unique<SharedState>()) {
    st_->opt = std::move(opt);
    const ServeOptions& o = st_->opt;
    GateLimits limits;
    limits.n_threads = o.http_threads();
    limits.max_connections = o.connections_max();
    limits.max_header_bytes = o.max_header_bytes;
    limits.header_timeout = std::chrono::seconds(o.header_timeout_s);
    limits.body_timeout = std::chrono::seconds(o.body_timeout_s);
    SharedState* st = st_.get();
    http_ = std::make_unique<GatedHttpServer>(
        limits, [st](int status) { st->metrics.record_request("connection", status); });
    st_->http = http_.get();
    install_routes();
}

Server::~Server() {
    shutdown(std::chrono::milliseconds(0));
}

void Server::install_routes() {
    SharedState& st = *st_;
    httplib::Server& h = *http_;
    const ServeOptions& o = st.opt;
    h.set_payload_max_length(o.max_body_bytes);
    h.set_read_timeout(o.timeout_s, 0);
    h.set_write_timeout(o.timeout_s, 0);
    h.set_keep_alive_max_count(1);  // one request per connection: each one passes the gate (http_gate.h)

    h.set_pre_routing_handler([&st](const httplib::Request& req, httplib::Response& res) {
        // A CORS preflight from a listed origin: answered before the key check (browsers send no key with it).
        if (req.method == "OPTIONS" && req.has_header("Access-Control-Request-Method") &&
            !cors_allow_origin(st.opt, req).empty()) {
            res.status = 204;
            res.set_header("Access-Control-Allow-Methods", "GET, POST, OPTIONS");
            res.set_header("Access-Control-Allow-Headers", "Authorization, Content-Type, X-Api-Key");
            res.set_header("Access-Control-Max-Age", "600");
            st.metrics.record_request("cors", 204);
            return httplib::Server::HandlerResponse::Handled;
        }
        if (st.opt.api_keys.empty() || is_public(st.opt, req.path) || key_accepted(st.opt.api_keys, req))
            return httplib::Server::HandlerResponse::Unhandled;
        const bool presented = req.has_header("Authorization") || req.has_header("x-api-key");
        send_error(res, unauthorized(presented ? "invalid API key"
                                               : "missing API key (Authorization: Bearer <key>, or x-api-key: <key>)"));
        st.metrics.record_request("auth", 401);
        return httplib::Server::HandlerResponse::Handled;
    });

    // Every response, refusals included, just before its headers go out.
    h.set_post_routing_handler([&st](const httplib::Request& req, httplib::Response& res) {
        GatedHttpServer::request_read();
        const std::string origin = cors_allow_origin(st.opt, req);
        if (origin.empty()) return;
        res.set_header("Access-Control-Allow-Origin", origin);
        if (origin != "*") res.set_header("Vary", "Origin");
    });

    // httplib's own refusals (no route, body too large, malformed request) arrive here with an empty body.
    h.set_error_handler([&st](const httplib::Request& req, httplib::Response& res) {
        if (!res.body.empty() || res.is_chunked_content_provider_) return;
        if (GatedHttpServer::request_cut()) return;  // answered 408 already, and counted
        switch (res.status) {
            case 404: send_error(res, not_found("no route for " + req.method + " " + req.path)); break;
            case 413:
                // httplib holds form-encoded bodies (curl -d's default type) to 8192 bytes, whatever the limit.
                if (req.get_header_value("Content-Type").starts_with("application/x-www-form-urlencoded") &&
                    req.get_header_value<uint64_t>("Content-Length") <= st.opt.max_body_bytes)
                    send_error(res, payload_too_large("a body sent as application/x-www-form-urlencoded may hold "
                                                      "8192 bytes at most: send Content-Type: application/json"));
                else
                    send_error(res, payload_too_large("the request body is larger than " +
                                                      std::to_string(st.opt.max_body_bytes) +
                                                      " bytes (--max-body-bytes)"));
                break;
            case 414:
                send_error(res, ApiError(414, "the request line is longer than 8192 bytes", "invalid_request_error",
                                         {}, "uri_too_long"));
                break;
            case 400: send_error(res, bad_request("malformed HTTP request")); break;
            default:
                send_error(res, ApiError(res.status, "HTTP error " + std::to_string(res.status), "server_error"));
        }
        st.metrics.record_request("other", res.status);
    });

    h.Post("/v1/chat/completions", wrap(st, "chat", true, [&st](const auto& req, auto& res) {
        handle_generation(st, Endpoint::chat, req, res);
    }));
    h.Post("/v1/completions", wrap(st, "completions", true, [&st](const auto& req, auto& res) {
        handle_generation(st, Endpoint::completion, req, res);
    }));
    h.Post("/v1/responses", wrap(st, "responses", true, [&st](const auto& req, auto& res) {
        handle_responses(st, req, res);
    }));
    h.Post("/v1/embeddings", wrap(st, "embeddings", false, [&st](const auto& req, auto& res) {
        handle_embeddings(st, req, res);
    }));
    if (st.opt.webui) {
        h.Get("/", wrap(st, "webui", false, [](const auto&, auto& res) {
            res.set_header("Cache-Control", "no-cache");
            res.set_content(std::string(webui_page()), "text/html; charset=utf-8");
        }));
    }
    h.Get("/health", wrap(st, "health", false, [&st](const auto&, auto& res) { handle_health(st, res); }));
    h.Get("/v1/models", wrap(st, "models", false, [&st](const auto&, auto& res) { handle_models(st, res); }));
    h.Get("/metrics", wrap(st, "metrics", false, [&st](const auto&, auto& res) { handle_metrics(st, res); }));
    h.Post("/tokenize", wrap(st, "tokenize", false, [&st](const auto& req, auto& res) {
        handle_tokenize(st, req, res);
    }));
    h.Post("/detokenize", wrap(st, "detokenize", false, [&st](const auto& req, auto& res) {
        handle_detokenize(st, req, res);
    }));

    // A known route asked with the wrong method: 405 with the method it takes.
    auto refuse = [&st](const char* allowed) {
        return wrap(st, "other", false, [allowed](const httplib::Request& req, httplib::Response& res) {
            res.set_header("Allow", allowed);
            throw method_not_allowed(req.method + " is not allowed on " + req.path + " (use " + allowed + ")");
        });
    };
    for (const char* path :
         {"/v1/chat/completions", "/v1/completions", "/v1/responses", "/v1/embeddings", "/tokenize", "/detokenize"}) {
        h.Get(path, refuse("POST"));
        h.Put(path, refuse("POST"));
        h.Patch(path, refuse("POST"));
        h.Delete(path, refuse("POST"));
    }
    for (const char* path : {"/health", "/v1/models", "/metrics"}) {
        h.Post(path, refuse("GET"));
        h.Put(path, refuse("GET"));
        h.Patch(path, refuse("GET"));
        h.Delete(path, refuse("GET"));
    }
}

void Server::start() {
    const ServeOptions& o = st_->opt;
    if (o.port == 0) {
        port_ = http_->bind_to_any_port(o.host);
        if (port_ < 0) throw std::runtime_error("cannot bind " + o.host + " to any port");
    } else {
        if (!http_->bind_to_port(o.host, o.port))
            throw std::runtime_error("cannot bind " + o.host + ":" + std::to_string(o.port) +
                                     " (in use, or not an address of this machine)");
        port_ = o.port;
    }
    listen_thread_ = std::thread([this] { http_->listen_after_bind(); });
    // httplib's stop() does nothing until the accept loop runs, so a shutdown right after start would leave the
    // loop running forever: wait for it (it starts within microseconds).
    for (int i = 0; i < 5000 && !http_->is_running(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    if (!http_->is_running()) throw std::runtime_error("the HTTP server did not start on " + o.host);
}

void Server::set_model(std::unique_ptr<LoadedModel> m) {
    st_->set_model(std::shared_ptr<LoadedModel>(std::move(m)));
    ServerState expected = ServerState::loading;
    st_->state.compare_exchange_strong(expected, ServerState::ready);
}

void Server::set_load_failed(const std::string& why) {
    st_->load_error = why;
    ServerState expected = ServerState::loading;
    st_->state.compare_exchange_strong(expected, ServerState::failed);
}

void Server::shutdown(std::chrono::milliseconds grace) {
    if (stopped_) return;
    stopped_ = true;
    st_->state.store(ServerState::shutting_down);
    if (std::shared_ptr<LoadedModel> m = st_->model()) m->engine->shutdown(grace);
    // Every request has now ended in the engine (finished, or cancelled with an error event), but the HTTP threads
    // may still be writing those last events: stop_all cuts every connection, so first let the replies go out
    // (each leaves the in-flight gauge just before its end marker, hence the short linger after), a bounded wait.
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    while (st_->metrics.in_flight() > 0 && std::chrono::steady_clock::now() < give_up)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    http_->stop_all();
    if (listen_thread_.joinable()) listen_thread_.join();
}

}  // namespace hotrod::server
