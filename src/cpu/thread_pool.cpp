// ThreadPool: spin-then-futex dispatch and completion. The sleeping flags follow the store-then-check
// (Dekker) pattern with seq_cst atomics: a waiter announces it sleeps, then re-checks the value before it
// waits; a notifier changes the value, then checks for sleepers. One of the two always sees the other.
#include "cpu/thread_pool.h"

#include <pthread.h>
#include <sched.h>

#include <immintrin.h>

#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace hotrod::cpu {
namespace {

// CPUs this process may run on, in order.
std::vector<int> allowed_cpus() {
    std::vector<int> cpus;
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof(set), &set) == 0) {
        for (int c = 0; c < CPU_SETSIZE; ++c) {
            if (CPU_ISSET(c, &set)) cpus.push_back(c);
        }
    }
    return cpus;
}

void pin_to(std::thread& t, int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    (void)pthread_setaffinity_np(t.native_handle(), sizeof(set), &set);  // best effort: containers may refuse
}

// The 1-minute load average, or -1.
double load_average() {
    double load = -1;
    if (FILE* f = std::fopen("/proc/loadavg", "r")) {
        if (std::fscanf(f, "%lf", &load) != 1) load = -1;
        std::fclose(f);
    }
    return load;
}

}  // namespace

bool should_pin(const char* env, double load, int n_cpus, int n_threads) {
    if (env && std::string_view(env) == "0") return false;
    if (!env || std::string_view(env) != "auto" || load < 0) return true;
    return load + double(n_threads) <= double(n_cpus) + 0.5;
}

ThreadPool::ThreadPool(int n_threads, int spin_iterations) : spin_iterations_(spin_iterations) {
    const std::vector<int> cpus = allowed_cpus();
    if (n_threads <= 0) n_threads = cpus.empty() ? int(std::max(1u, std::thread::hardware_concurrency())) : int(cpus.size());
    // The load average is read only for HOTROD_PIN=auto, the one mode that looks at it.
    const char* pin_env = std::getenv("HOTROD_PIN");
    const bool wants_load = pin_env && std::string_view(pin_env) == "auto";
    const bool pin = should_pin(pin_env, wants_load ? load_average() : -1, int(cpus.size()), n_threads);
    n_threads_ = n_threads;
    workers_.reserve(size_t(n_threads - 1));
    for (int i = 1; i < n_threads; ++i) {
        workers_.emplace_back([this, i] { worker_loop(i); });
        // Worker i on the i-th allowed CPU; the caller (thread 0) keeps its own affinity.
        if (pin && !cpus.empty() && int(cpus.size()) >= n_threads) pin_to(workers_.back(), cpus[size_t(i)]);
    }
}

ThreadPool::~ThreadPool() {
    stopping_ = true;
    generation_.fetch_add(1);
    generation_.notify_all();
    for (auto& t : workers_) t.join();
}

void ThreadPool::run_erased(JobFn fn, void* ctx) {
    if (n_threads_ == 1) {
        fn(ctx, 0, 1);
        return;
    }
    job_fn_ = fn;
    job_ctx_ = ctx;
    n_pending_.store(n_threads_ - 1);
    generation_.fetch_add(1);  // seq_cst: publishes job_fn_/job_ctx_ and orders before the sleeper check
    if (n_sleeping_.load() > 0) generation_.notify_all();

    fn(ctx, 0, n_threads_);

    for (int i = 0; n_pending_.load(std::memory_order_acquire) != 0; ++i) {
        if (i < spin_iterations_) {
            _mm_pause();
            continue;
        }
        caller_sleeping_.store(true);
        for (int left = n_pending_.load(); left != 0; left = n_pending_.load()) n_pending_.wait(left);
        caller_sleeping_.store(false);
        break;
    }
}

void ThreadPool::worker_loop(int thread_id) {
    // Not generation_.load(): a job dispatched before this thread first ran would be missed. The pool starts
    // at generation 0 and only run_erased (after construction) moves it.
    uint32_t seen = 0;
    for (;;) {
        uint32_t now = generation_.load(std::memory_order_acquire);
        for (int i = 0; now == seen && i < spin_iterations_; ++i) {
            _mm_pause();
            now = generation_.load(std::memory_order_acquire);
        }
        if (now == seen) {
            n_sleeping_.fetch_add(1);
            while ((now = generation_.load()) == seen) generation_.wait(seen);
            n_sleeping_.fetch_sub(1);
        }
        seen = now;
        if (stopping_) return;
        job_fn_(job_ctx_, thread_id, n_threads_);
        if (n_pending_.fetch_sub(1) == 1 && caller_sleeping_.load()) n_pending_.notify_one();
    }
}

}  // namespace hotrod::cpu
