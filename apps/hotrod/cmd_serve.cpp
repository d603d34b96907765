// `hotrod serve [-m MODEL|URL | -hf OWNER/REPO[:QUANT]] [--offline] [--no-webui] [--host H] [--port P]
// [--parallel N] [-c CTX] [--threads T] [--reasoning on|off|auto]
// [--api-key KEY[,KEY...]] [--api-key-file F] [--metrics-public] [--cors-origin O] [--max-queue Q] [--timeout S]
// [--threads-http N] [--max-connections N] [--max-header-bytes B] [--max-body-bytes B] [--header-timeout S]
// [--body-timeout S] [--drain-timeout S] [--alias NAME] [--chat-template-file F] [--embeddings]
// [--pooling mean|cls|last]`: the OpenAI-compatible server and its chat page at /
// (no model flag: the default model, fetched into the models cache when missing). It listens first
// (GET /health answers 503 while loading), loads the model on a second thread with a progress bar on a terminal,
// then serves until SIGINT/SIGTERM, when it drains: it keeps listening but answers new requests and /health with
// 503 (a load balancer moves on: deploy/nginx/hotrod.conf), lets running requests finish for up to
// --drain-timeout seconds, cancels what is left, and exits 0.
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>

#include "commands.h"
#include "device_flags.h"
#include "model_flags.h"
#include "server/loaded_model.h"
#include "server/server.h"

namespace hotrod::app {
namespace {

// A one-line bar redrawn in place; only when stderr is a terminal (logs stay clean).
void draw_progress(const char* stage, double fraction) {
    if (!isatty(STDERR_FILENO)) {
        // Not a terminal: a log line per 10% (a GPU upload of a large model takes seconds).
        static int last_decile = -1;
        const int decile = int(fraction * 10 + 1e-9);
        if (decile > last_decile) {
            last_decile = decile;
            std::fprintf(stderr, "hotrod serve: loading %3d%% (%s)\n", decile * 10, stage);
        }
        return;
    }
    constexpr int kWidth = 30;
    const int filled = int(fraction * kWidth + 0.5);
    std::fprintf(stderr, "\rloading [%.*s%*s] %3d%% %-14s", filled, "##############################",
                 kWidth - filled, "", int(fraction * 100 + 0.5), stage);
    if (fraction >= 1.0) std::fprintf(stderr, "\n");
    std::fflush(stderr);
}

// Why main wakes up: a signal, or the load failed.
struct Wakeup {
    std::mutex mu;
    std::condition_variable cv;
    bool stop = false;
    int exit_code = 0;
    void set(int code) {
        std::lock_guard lock(mu);
        if (!stop) exit_code = code;
        stop = true;
        cv.notify_all();
    }
};

// Keys from --api-key (comma-separated, as llama-server) and --api-key-file (one a line; blank lines and lines
// starting with # skipped). Throws naming the file when it cannot be read or holds no key.
std::vector<std::string> read_api_keys(const std::string& list, const std::string& file) {
    std::vector<std::string> keys;
    std::stringstream in(list);
    for (std::string key; std::getline(in, key, ',');)
        if (!key.empty()) keys.push_back(key);
    if (file.empty()) return keys;
    std::ifstream f(file);
    if (!f) throw std::runtime_error("--api-key-file " + file + ": cannot be read");
    const size_t before = keys.size();
    for (std::string line; std::getline(f, line);) {
        while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) line.pop_back();
        const size_t start = line.find_first_not_of(" \t");
        if (start == std::string::npos || line[start] == '#') continue;
        keys.push_back(line.substr(start));
    }
    if (keys.size() == before) throw std::runtime_error("--api-key-file " + file + ": holds no key");
    return keys;
}

// Every open connection is a descriptor, and the gate holds a second one for each connection it serves: raise the
// soft limit towards the hard one when the connection bound needs more (a shell's default is often 1024).
void ensure_descriptors(const server::ServeOptions& o) {
    const rlim_t needed = rlim_t(o.connections_max()) + rlim_t(o.http_threads()) + 256;
    rlimit lim{};
    if (getrlimit(RLIMIT_NOFILE, &lim) != 0 || lim.rlim_cur >= needed) return;
    lim.rlim_cur = std::min(needed, lim.rlim_max);
    setrlimit(RLIMIT_NOFILE, &lim);
    if (lim.rlim_cur < needed)
        std::fprintf(stderr, "hotrod serve: warning: %llu file descriptors allowed, --max-connections %d needs %llu\n",
                     (unsigned long long)lim.rlim_cur, o.connections_max(), (unsigned long long)needed);
}

}  // namespace

int cmd_serve(int argc, char** argv) {
    server::ServeOptions o;
    std::string reasoning = "auto";
    CLI::App app{"Serves a model over an OpenAI-compatible HTTP API.", "hotrod serve"};
    ModelFlags model_flags;
    add_model_flags(app, model_flags);
    app.add_option("--host", o.host, "address to listen on")->capture_default_str();
    app.add_option("--port", o.port, "port to listen on (0: any free port)")->capture_default_str();
    app.add_option("--parallel", o.n_parallel, "sequences decoded at once")
        ->capture_default_str()->check(CLI::Range(1, 256));
    auto* ctx = app.add_option("-c,--ctx-size", o.n_ctx,
                               "KV cache size in tokens, over all sequences (GPU default: the memory left)")
        ->capture_default_str()->check(CLI::Range(16, 1 << 24));
    add_device_flags(app, o.device);
    app.add_option("--tensor-parallel", o.tensor_parallel,
                   "(also -tp) ranks the model is cut across, by KV heads and FFN columns; for now CPU ranks (threads "
                   "of this process, sharing --threads): a GPU group needs NCCL, not built yet")
        ->capture_default_str()->check(CLI::Range(1, 64));
    app.add_option("--reasoning", reasoning, "thinking templates: on, off, or as the template decides (auto)")
        ->capture_default_str()->check(CLI::IsMember({"on", "off", "auto"}));
    std::string api_key_list, api_key_file;
    app.add_option("--api-key", api_key_list,
                   "keys (comma-separated) one of which every route but /health needs, as 'Authorization: Bearer "
                   "KEY' or 'x-api-key: KEY'");
    app.add_option("--api-key-file", api_key_file, "file of keys, one a line, added to --api-key's")
        ->check(CLI::ExistingFile);
    app.add_flag("--metrics-public", o.metrics_public, "/metrics answers without a key (/health always does)");
    bool no_webui = false;
    app.add_flag("--no-webui", no_webui, "no chat page at / (the API is unchanged)");
    app.add_option("--cors-origin", o.cors_origins,
                   "origin allowed to call from a browser (repeat or comma-separate; '*': any); default: CORS off")
        ->delimiter(',');
    app.add_option("--max-queue", o.max_queue, "requests waiting for a slot; more get 503 with Retry-After")
        ->capture_default_str()->check(CLI::Range(0, 1 << 20));
    app.add_option("--timeout", o.timeout_s, "seconds each socket read or write may wait")
        ->capture_default_str()->check(CLI::Range(1, 86400));
    app.add_option("--threads-http", o.n_http_threads,
                   "HTTP threads: connections served at once; 0: parallel + max-queue + 8, at most 512")
        ->capture_default_str()->check(CLI::Range(0, 4096));
    app.add_option("--max-connections", o.max_connections,
                   "connections open at once (served or waiting for a thread), more get 503; 0: twice the threads")
        ->capture_default_str()->check(CLI::Range(0, 1 << 20));
    app.add_option("--max-header-bytes", o.max_header_bytes, "request line and headers larger get 431")
        ->capture_default_str()->check(CLI::Range(size_t(256), size_t(1) << 20));
    app.add_option("--max-body-bytes", o.max_body_bytes, "request bodies larger get 413")
        ->capture_default_str()->check(CLI::Range(size_t(1024), size_t(1) << 32));
    app.add_option("--header-timeout", o.header_timeout_s, "seconds a connection's headers may take; later: 408")
        ->capture_default_str()->check(CLI::Range(1, 86400));
    app.add_option("--body-timeout", o.body_timeout_s, "seconds a request's body may take after its headers")
        ->capture_default_str()->check(CLI::Range(1, 86400));
    double drain_timeout_s = o.shutdown_grace_ms / 1000.0;
    app.add_option("--drain-timeout", drain_timeout_s,
                   "SIGTERM/SIGINT: seconds running requests may take to finish while new ones and /health get "
                   "503; then they are cancelled and the server exits")
        ->capture_default_str()->check(CLI::Range(0.0, 86400.0));
    app.add_option("--chat-template-file", o.chat_template_file, "Jinja chat template to use instead of the model's")
        ->check(CLI::ExistingFile);
    app.add_option("--ubatch-size", o.step_tokens, "tokens per engine step: decode tokens plus prefill chunks")
        ->capture_default_str()->check(CLI::Range(1, 4096));
    bool no_jump = false;
    app.add_flag("--no-jump-forward", no_jump, "sample grammar-forced tokens one by one instead of appending them");
    app.add_flag("--embeddings", o.embeddings,
                 "serve POST /v1/embeddings (pooled final hidden states, L2-normalised) beside generation");
    app.add_option("--pooling", o.pooling,
                   "how /v1/embeddings pools a prompt's states: mean, cls or last; implies --embeddings (default: "
                   "the model file's pooling_type; a chat model has none, so give it)")
        ->check(CLI::IsMember({"mean", "cls", "last"}));
    app.add_option("-a,--alias", o.alias, "model name shown to clients (default: the file's name)");
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e);
    }
    try {
        o.api_keys = read_api_keys(api_key_list, api_key_file);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "hotrod serve: %s\n", e.what());
        return 2;
    }
    try {
        // No model flag: the default model (from the cache, else fetched). A download, if any, happens before
        // the server listens.
        o.model_path = resolve_model(model_flags, /*default_model=*/true);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "hotrod serve: %s\n", e.what());
        return 1;
    }
    ensure_descriptors(o);
    o.shutdown_grace_ms = int(drain_timeout_s * 1000 + 0.5);
    o.jump_forward = !no_jump;
    o.embeddings = o.embeddings || !o.pooling.empty();
    o.webui = !no_webui;
    o.n_ctx_given = ctx->count() > 0;
    o.n_threads = o.device.n_threads;
    o.reasoning = reasoning == "on" ? server::ReasoningMode::on
                : reasoning == "off" ? server::ReasoningMode::off : server::ReasoningMode::auto_;

    // Signals go to one waiting thread, not to whichever thread runs: block them before any thread starts.
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);
    signal(SIGPIPE, SIG_IGN);  // a client that left must fail a write, not kill the process

    Wakeup wake;
    std::thread signal_thread([&] {
        int sig = 0;
        sigwait(&signals, &sig);
        if (sig == SIGINT || sig == SIGTERM) wake.set(0);
    });

    server::Server srv(o);
    try {
        srv.start();
    } catch (const std::exception& e) {
        std::fprintf(stderr, "hotrod serve: %s\n", e.what());
        pthread_kill(signal_thread.native_handle(), SIGTERM);
        signal_thread.join();
        return 1;
    }
    std::fprintf(stderr, "hotrod serve: listening on http://%s:%d (loading %s)\n", o.host.c_str(), srv.port(),
                 o.model_path.c_str());

    std::thread loader([&] {
        try {
            // Tests of the 503-while-loading answer need a load slower than SmolLM2's 40 ms.
            if (const char* delay = std::getenv("HOTROD_SERVE_TEST_LOAD_DELAY_MS"))
                std::this_thread::sleep_for(std::chrono::milliseconds(std::atoi(delay)));
            std::unique_ptr<server::LoadedModel> m = server::load_model(o, draw_progress);
            std::fprintf(stderr,
                         "hotrod serve: model %s loaded in %.0f ms on %s, warm-up %.0f ms (context %d per "
                         "sequence, %d parallel, template %s%s%s); ready\n",
                         m->model_id.c_str(), m->load_ms, m->device.c_str(), m->warmup_ms, m->max_context,
                         o.n_parallel, m->template_origin.c_str(), o.embeddings ? ", embeddings pooling " : "",
                         o.embeddings ? engine::to_string(m->pooling) : "");
            srv.set_model(std::move(m));
        } catch (const std::exception& e) {
            if (isatty(STDERR_FILENO)) std::fprintf(stderr, "\n");
            std::fprintf(stderr, "hotrod serve: loading %s failed: %s\n", o.model_path.c_str(), e.what());
            srv.set_load_failed(e.what());
            wake.set(1);
        }
    });

    {
        std::unique_lock lock(wake.mu);
        wake.cv.wait(lock, [&] { return wake.stop; });
    }
    loader.join();
    std::fprintf(stderr, "hotrod serve: draining (new requests and /health get 503; running requests get %d ms)\n",
                 o.shutdown_grace_ms);
    srv.shutdown(std::chrono::milliseconds(o.shutdown_grace_ms));
    if (wake.exit_code != 0) {  // the load failed: no signal came, wake the signal thread ourselves
        pthread_kill(signal_thread.native_handle(), SIGTERM);
    }
    signal_thread.join();
    std::fprintf(stderr, "hotrod serve: stopped\n");
    return wake.exit_code;
}

}  // namespace hotrod::app
