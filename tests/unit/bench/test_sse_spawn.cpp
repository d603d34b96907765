// SSE framing at every split point, command-line splitting, and spawn/stop of a real child process.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <thread>

#include <stdlib.h>

#include <httplib.h>

#include "bench/http_client.h"
#include "bench/spawn.h"
#include "bench/sse.h"

using namespace hotrod::bench;

TEST(BenchSse, EveryChunking) {
    const std::string stream =
        ": comment\r\ndata: {\"a\":1}\r\n\r\ndata: one\ndata: two\n\nevent: x\nid: 3\n\ndata:[DONE]\n\ndata: tail";
    const std::vector<std::string> want = {"{\"a\":1}", "one\ntwo", "[DONE]", "tail"};
    for (size_t cut1 = 0; cut1 <= stream.size(); ++cut1)
        for (size_t cut2 = cut1; cut2 <= stream.size(); cut2 += 7) {
            SseParser p;
            std::vector<std::string> got;
            auto on = [&](std::string_view d) { got.emplace_back(d); };
            p.feed(std::string_view(stream).substr(0, cut1), on);
            p.feed(std::string_view(stream).substr(cut1, cut2 - cut1), on);
            p.feed(std::string_view(stream).substr(cut2), on);
            p.finish(on);
            ASSERT_EQ(got, want) << "cuts " << cut1 << ", " << cut2;
        }
}

TEST(BenchSpawn, SplitCommand) {
    EXPECT_EQ(split_command("  a  b\tc "), (std::vector<std::string>{"a", "b", "c"}));
    EXPECT_EQ(split_command(R"(srv -m '/m dir/x.gguf' --alias "a \"b\"" x\ y)"),
              (std::vector<std::string>{"srv", "-m", "/m dir/x.gguf", "--alias", "a \"b\"", "x y"}));
    EXPECT_EQ(split_command("a '' b"), (std::vector<std::string>{"a", "", "b"}));
    EXPECT_THROW(split_command("a 'b"), std::runtime_error);
    EXPECT_TRUE(split_command("").empty());
}

TEST(BenchSpawn, UrlFromCommand) {
    EXPECT_EQ(url_from_command(split_command("llama-server -m x --port 8091 -t 2")), "http://127.0.0.1:8091");
    EXPECT_EQ(url_from_command(split_command("s --host 0.0.0.0 --port=9000")), "http://127.0.0.1:9000");
    EXPECT_EQ(url_from_command(split_command("s --host 10.1.2.3 --port 1")), "http://10.1.2.3:1");
    EXPECT_THROW(url_from_command(split_command("s -m x")), std::runtime_error);
}

TEST(BenchEndpoint, Parse) {
    EXPECT_EQ(parse_endpoint("http://127.0.0.1:8091").scheme_host_port, "http://127.0.0.1:8091");
    EXPECT_EQ(parse_endpoint("http://127.0.0.1:8091/v1/").prefix, "");
    EXPECT_EQ(parse_endpoint("http://h:1/proxy/v1").prefix, "/proxy");
    EXPECT_THROW(parse_endpoint("127.0.0.1:8091"), std::runtime_error);
    EXPECT_THROW(parse_endpoint("ftp://h"), std::runtime_error);
    EXPECT_THROW(parse_endpoint("http://"), std::runtime_error);
}

TEST(BenchSpawn, StartStopBySigterm) {
    SpawnedServer s;
    s.start({"sleep", "30"}, "/dev/null");
    const pid_t pid = s.pid();
    ASSERT_GT(pid, 0);
    EXPECT_TRUE(s.running());
    s.stop();
    EXPECT_FALSE(s.running());
    EXPECT_EQ(s.exit_text(), "killed by signal 15");  // SIGTERM, not the SIGKILL fallback
    s.stop();  // twice is fine
}

TEST(BenchSpawn, SigkillWhenSigtermIgnored) {
    // The child says when it ignores SIGTERM (a fixed sleep is not enough on a loaded machine: a SIGTERM that
    // comes before the trap kills it by signal 15); exec keeps the ignored disposition for sleep.
    char dir[] = "/tmp/hotrod-spawn-test-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    const std::string log = std::string(dir) + "/log";
    SpawnedServer s;
    s.start({"sh", "-c", "trap '' TERM; echo trapped; exec sleep 30"}, log);
    std::string said;
    for (int i = 0; i < 6000 && said.find("trapped") == std::string::npos; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
        std::ifstream in(log);
        said.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    ASSERT_NE(said.find("trapped"), std::string::npos) << "the child never installed its trap";
    s.stop(300);
    EXPECT_FALSE(s.running());
    EXPECT_EQ(s.exit_text(), "killed by signal 9");
    std::filesystem::remove_all(dir);
}

TEST(BenchSpawn, ExecFailureAndEarlyExit) {
    SpawnedServer s;
    try {
        s.start({"/nonexistent/server-binary", "--port", "1"}, "/dev/null");
        FAIL() << "expected an exec error";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("cannot run '/nonexistent/server-binary'"), std::string::npos) << e.what();
    }
    SpawnedServer q;
    q.start({"sh", "-c", "exit 3"}, "/dev/null");
    try {
        q.wait_ready("http://127.0.0.1:1", 60'000);  // the exit ends the wait, not the timeout
        FAIL() << "expected the exit to be reported";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("exited with status 3"), std::string::npos) << e.what();
    }
}

TEST(BenchSpawn, ReadyWhenModelsAnswers) {
    // The readiness probe against an in-process server (a spawned `sleep` stands in for the process).
    httplib::Server svr;
    svr.Get("/v1/models", [](const httplib::Request&, httplib::Response& res) { res.set_content("{\"data\":[]}", "application/json"); });
    const int port = svr.bind_to_any_port("127.0.0.1");
    std::thread th([&] { svr.listen_after_bind(); });
    SpawnedServer s;
    s.start({"sleep", "30"}, "/dev/null");
    const double ms = s.wait_ready("http://127.0.0.1:" + std::to_string(port), 60'000);  // throws when not ready
    EXPECT_GE(ms, 0);
    s.stop();
    svr.stop();
    th.join();
}

TEST(BenchSpawn, NotReadyWhileHealthSaysLoading) {
    // /v1/models answers at once but /health says 503 (loading) for the first 600 ms: ready only after that
    // (a benchmark started earlier sent every request into the loading server's 503s).
    httplib::Server svr;
    const auto t0 = std::chrono::steady_clock::now();
    svr.Get("/v1/models", [](const httplib::Request&, httplib::Response& res) { res.set_content("{\"data\":[]}", "application/json"); });
    svr.Get("/health", [t0](const httplib::Request&, httplib::Response& res) {
        if (std::chrono::steady_clock::now() - t0 < std::chrono::milliseconds(600)) res.status = 503;
        res.set_content("{}", "application/json");
    });
    const int port = svr.bind_to_any_port("127.0.0.1");
    std::thread th([&] { svr.listen_after_bind(); });
    SpawnedServer s;
    s.start({"sleep", "30"}, "/dev/null");
    s.wait_ready("http://127.0.0.1:" + std::to_string(port), 60'000);
    EXPECT_GE(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(600));
    s.stop();
    svr.stop();
    th.join();
}
