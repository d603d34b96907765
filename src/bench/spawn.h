// A server the benchmark starts itself (--spawn NAME='command line'): fork/exec without a shell, so the pid
// we hold is the server's own; wait until /health or /v1/models answers 200 (time to ready); stop it by that
// pid with SIGTERM, then SIGKILL after a grace period. Output goes to a log file, not our terminal.
#pragma once

#include <string>
#include <vector>

#include <sys/types.h>

namespace hotrod::bench {

// Splits a command line like a POSIX shell does for words: whitespace separates, '...' and "..." quote,
// backslash escapes (outside single quotes). No expansion of any kind. Throws on an unclosed quote.
std::vector<std::string> split_command(const std::string& command_line);

// The URL a spawned server listens on, read from its --host/--port flags (default host 127.0.0.1; a host of
// 0.0.0.0 is reached at 127.0.0.1). Throws when there is no --port: the benchmark must know where to look.
std::string url_from_command(const std::vector<std::string>& argv);

class SpawnedServer {
public:
    SpawnedServer() = default;
    SpawnedServer(const SpawnedServer&) = delete;
    SpawnedServer& operator=(const SpawnedServer&) = delete;
    ~SpawnedServer();  // stops the server if still running

    // Starts argv; stdout and stderr go to log_path (truncated). Throws when fork or exec fails.
    void start(const std::vector<std::string>& argv, const std::string& log_path);
    // Polls url's /health then /v1/models every 100 ms until one answers 200. Returns the time to ready in ms
    // since start(); throws when the process exits first (with its status) or timeout_ms passes.
    double wait_ready(const std::string& url, int timeout_ms);
    // SIGTERM, wait up to grace_ms, then SIGKILL. Safe to call twice.
    void stop(int grace_ms = 5000);

    pid_t pid() const { return pid_; }
    bool running();  // false once the process has exited (reaped here)
    const std::string& exit_text() const { return exit_text_; }

private:
    pid_t pid_ = -1;
    double started_ms_ = 0;  // steady clock at start()
    std::string exit_text_;  // "exited with status 1", "killed by signal 9"
};

}  // namespace hotrod::bench
