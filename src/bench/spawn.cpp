// Process start/stop for spawned targets. The child closes nothing but the standard streams: the benchmark
// opens no other descriptors before spawning that a server could inherit to harm.
#include "bench/spawn.h"

#include <cerrno>
#include <chrono>
#include <cstring>
#include <stdexcept>
#include <thread>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench/http_client.h"

namespace hotrod::bench {
namespace {

double now_ms() {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

std::string status_text(int status) {
    if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
    if (WIFSIGNALED(status)) return "killed by signal " + std::to_string(WTERMSIG(status));
    return "stopped";
}

}  // namespace

std::vector<std::string> split_command(const std::string& s) {
    std::vector<std::string> out;
    std::string word;
    bool in_word = false;
    char quote = 0;
    for (size_t i = 0; i < s.size(); ++i) {
        const char c = s[i];
        if (quote == '\'') {
            if (c == '\'') quote = 0;
            else word += c;
        } else if (quote == '"') {
            if (c == '"') quote = 0;
            else if (c == '\\' && i + 1 < s.size() && (s[i + 1] == '"' || s[i + 1] == '\\')) word += s[++i];
            else word += c;
        } else if (c == '\'' || c == '"') {
            quote = c;
            in_word = true;
        } else if (c == '\\' && i + 1 < s.size()) {
            word += s[++i];
            in_word = true;
        } else if (c == ' ' || c == '\t' || c == '\n') {
            if (in_word) out.push_back(word);
            word.clear();
            in_word = false;
        } else {
            word += c;
            in_word = true;
        }
    }
    if (quote) throw std::runtime_error("command line '" + s + "': unclosed " + std::string(1, quote) + " quote");
    if (in_word) out.push_back(word);
    return out;
}

std::string url_from_command(const std::vector<std::string>& argv) {
    std::string host = "127.0.0.1", port;
    for (size_t i = 1; i < argv.size(); ++i) {
        const std::string& a = argv[i];
        auto value = [&](const char* flag, std::string& into) {
            const std::string f = flag;
            if (a == f && i + 1 < argv.size()) into = argv[i + 1];
            else if (a.rfind(f + "=", 0) == 0) into = a.substr(f.size() + 1);
        };
        value("--port", port);
        value("--host", host);
    }
    if (port.empty()) throw std::runtime_error("spawn command has no --port: cannot tell where the server listens");
    if (host == "0.0.0.0" || host == "::") host = "127.0.0.1";
    return "http://" + host + ":" + port;
}

SpawnedServer::~SpawnedServer() { stop(2000); }

void SpawnedServer::start(const std::vector<std::string>& argv, const std::string& log_path) {
    if (argv.empty()) throw std::runtime_error("spawn: empty command line");
    const int log_fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (log_fd < 0) throw std::runtime_error("spawn: cannot open log " + log_path + ": " + std::strerror(errno));
    // argv for execvp is built before fork: the child of a threaded process may only call async-signal-safe
    // functions, and allocation is not one of them.
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    int err_pipe[2];  // reports an exec failure: closed on a successful exec (O_CLOEXEC)
    if (::pipe2(err_pipe, O_CLOEXEC) != 0) {
        ::close(log_fd);
        throw std::runtime_error(std::string("spawn: pipe: ") + std::strerror(errno));
    }
    const pid_t pid = ::fork();
    if (pid < 0) {
        ::close(log_fd);
        ::close(err_pipe[0]);
        ::close(err_pipe[1]);
        throw std::runtime_error(std::string("spawn: fork: ") + std::strerror(errno));
    }
    if (pid == 0) {
        ::dup2(log_fd, STDOUT_FILENO);
        ::dup2(log_fd, STDERR_FILENO);
        const int devnull = ::open("/dev/null", O_RDONLY);
        if (devnull >= 0) ::dup2(devnull, STDIN_FILENO);
        ::execvp(args[0], args.data());
        const int e = errno;
        [[maybe_unused]] auto n = ::write(err_pipe[1], &e, sizeof e);
        ::_exit(127);
    }
    ::close(log_fd);
    ::close(err_pipe[1]);
    int exec_errno = 0;
    const ssize_t n = ::read(err_pipe[0], &exec_errno, sizeof exec_errno);
    ::close(err_pipe[0]);
    if (n == ssize_t(sizeof exec_errno)) {
        ::waitpid(pid, nullptr, 0);
        throw std::runtime_error("spawn: cannot run '" + argv[0] + "': " + std::strerror(exec_errno));
    }
    pid_ = pid;
    started_ms_ = now_ms();
    exit_text_.clear();
}

bool SpawnedServer::running() {
    if (pid_ <= 0) return false;
    int status = 0;
    const pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == 0) return true;
    if (r == pid_) exit_text_ = status_text(status);
    pid_ = -1;
    return false;
}

double SpawnedServer::wait_ready(const std::string& url, int timeout_ms) {
    ChatClient probe(parse_endpoint(url), 1000);
    while (true) {
        if (!running()) throw std::runtime_error("server " + (exit_text_.empty() ? "is not running" : exit_text_) + " before it was ready");
        // /health decides when the server has one (llama-server, vLLM and hotrod answer 503 while the model
        // loads, and hotrod's /v1/models already answers then); /v1/models only for a server without it (404).
        const int health = probe.get("/health", nullptr, 1000);
        if (health == 200 || (health == 404 && probe.get("/v1/models", nullptr, 1000) == 200))
            return now_ms() - started_ms_;
        if (now_ms() - started_ms_ > timeout_ms)
            throw std::runtime_error("server not ready after " + std::to_string(timeout_ms) + " ms");
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
}

void SpawnedServer::stop(int grace_ms) {
    if (!running()) return;
    ::kill(pid_, SIGTERM);
    const double t0 = now_ms();
    while (now_ms() - t0 < grace_ms) {
        if (!running()) return;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    exit_text_ = status_text(status);
    pid_ = -1;
}

}  // namespace hotrod::bench
