// The HTTP layer without a model: a Server that never gets one answers like one still loading. Checks routing,
// the error wrapper's statuses and bodies (404, 405, 413, 401, 503), and /metrics while loading, over a real
// socket with httplib's client.
#include <gtest/gtest.h>

#include <httplib.h>

#include <nlohmann/json.hpp>

#include "server/server.h"

namespace hotrod::server {
namespace {

class Routes : public ::testing::Test {
protected:
    void start(ServeOptions o) {
        o.host = "127.0.0.1";
        o.port = 0;
        o.model_path = "/nonexistent/Some-Model.Q4_0.gguf";
        o.max_body_bytes = 1024;
        o.n_http_threads = 4;
        srv_ = std::make_unique<Server>(o);
        srv_->start();
        cli_ = std::make_unique<httplib::Client>("127.0.0.1", srv_->port());
    }
    void TearDown() override {
        if (srv_) srv_->shutdown(std::chrono::milliseconds(0));
    }
    // The error object of a reply, checking its OpenAI shape.
    static nlohmann::json error_of(const httplib::Result& r) {
        EXPECT_TRUE(r);
        if (!r) return {};
        const nlohmann::json body = nlohmann::json::parse(r->body, nullptr, false);
        EXPECT_TRUE(body.is_object() && body.contains("error")) << r->body;
        if (!body.is_object() || !body.contains("error")) return {};
        for (const char* key : {"message", "type", "param", "code"}) EXPECT_TRUE(body["error"].contains(key)) << key;
        return body["error"];
    }

    std::unique_ptr<Server> srv_;
    std::unique_ptr<httplib::Client> cli_;
};

TEST_F(Routes, LoadingAnswers503) {
    start({});
    auto r = cli_->Get("/health");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 503);
    EXPECT_EQ(error_of(r)["code"], "model_loading");
    r = cli_->Post("/v1/chat/completions", R"({"messages":[{"role":"user","content":"hi"}]})", "application/json");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 503);
    r = cli_->Post("/tokenize", R"({"content":"hi"})", "application/json");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 503);
}

TEST_F(Routes, ModelsListsTheFileName) {
    start({});
    auto r = cli_->Get("/v1/models");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    const auto body = nlohmann::json::parse(r->body);
    EXPECT_EQ(body["data"][0]["id"], "Some-Model.Q4_0");
}

TEST_F(Routes, UnknownRouteWrongMethodAndLargeBody) {
    start({});
    auto r = cli_->Get("/v2/everything");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 404);
    EXPECT_EQ(error_of(r)["type"], "not_found_error");
    r = cli_->Get("/v1/chat/completions");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 405);
    EXPECT_EQ(r->get_header_value("Allow"), "POST");
    EXPECT_EQ(error_of(r)["code"], "method_not_allowed");
    r = cli_->Post("/health", "", "application/json");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 405);
    r = cli_->Post("/v1/chat/completions", std::string(4096, 'x'), "application/json");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 413);
    EXPECT_EQ(error_of(r)["code"], "payload_too_large");
}

TEST_F(Routes, ApiKey) {
    ServeOptions o;
    o.api_keys = {"k3y"};
    start(o);
    auto r = cli_->Get("/v1/models");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 401);
    EXPECT_EQ(error_of(r)["type"], "authentication_error");
    r = cli_->Get("/v1/models", {{"Authorization", "Bearer k3"}});
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 401);
    r = cli_->Get("/v1/models", {{"Authorization", "Bearer k3y"}});
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    r = cli_->Get("/health");  // no key needed
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 503);
}

TEST_F(Routes, MetricsWhileLoadingCountsRefusals) {
    start({});
    cli_->Get("/nope");
    cli_->Get("/health");
    auto r = cli_->Get("/metrics");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_NE(r->body.find("hotrod_model_loaded 0"), std::string::npos);
    EXPECT_NE(r->body.find("hotrod_requests_total{endpoint=\"health\",status=\"503\"} 1"), std::string::npos);
    EXPECT_NE(r->body.find("hotrod_requests_total{endpoint=\"other\",status=\"404\"} 1"), std::string::npos);
}

TEST_F(Routes, ShutdownIsIdempotentAndStopsListening) {
    start({});
    const int port = srv_->port();
    srv_->shutdown(std::chrono::milliseconds(0));
    srv_->shutdown(std::chrono::milliseconds(0));
    httplib::Client c("127.0.0.1", port);
    c.set_connection_timeout(1, 0);
    EXPECT_FALSE(c.Get("/health"));
}

}  // namespace
}  // namespace hotrod::server
