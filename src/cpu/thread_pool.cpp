// ThreadPool: spin-then-futex dispatch and completion. The sleeping flags follow the store-then-check
// (Dekker) pattern with seq_cst atomics: a waiter announces it sleeps, then re-checks the value before it
// waits; a notifier changes the value, then checks for sleepers. One of the two always sees the other.
#include "cpu/thread_pool.h"

#include <pthread.h>
#include <sched.h>

#include <immintrin.h>

#include <cstdio>
#include <cstdlib>
#include <stdexcept>
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

int default_thread_count() {
    const std::vector<int> cpus = allowed_cpus();
    return cpus.empty() ? int(std::max(1u, std::thread::hardware_concurrency())) : int(cpus.size());
}

ThreadPool::ThreadPool(int n_threads, int spin_iterations) : spin_iterations_(spin_iterations) {
    const std::vector<int> cpus = allowed_cpus();
    if (n_threads <= 0) n_threads = default_thread_count();
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
    generation_.store(next_generation(false));
    generation_.notify_all();
    for (auto& t : workers_) t.join();
}

void ThreadPool::wait_for_zero(std::atomic<int>& counter) {
    for (int i = 0; counter.load(std::memory_order_acquire) != 0; ++i) {
        if (i < spin_iterations_) {
            _mm_pause();
            continue;
        }
        caller_sleeping_.store(true);
        for (int left = counter.load(); left != 0; left = counter.load()) counter.wait(left);
        caller_sleeping_.store(false);
        break;
    }
}

void ThreadPool::run_erased(JobFn fn, void* ctx) {
    if (n_threads_ == 1) {
        fn(ctx, 0, 1);
        return;
    }
    job_fn_ = fn;
    job_ctx_ = ctx;
    n_pending_.store(n_threads_ - 1);
    generation_.store(next_generation(false));  // seq_cst: publishes the job and orders before the sleeper check
    if (n_sleeping_.load() > 0) generation_.notify_all();

    fn(ctx, 0, n_threads_);
    wait_for_zero(n_pending_);
}

void ThreadPool::take_tasks(int thread_id) {
    int done = 0;
    for (int64_t t = next_task_.fetch_add(1, std::memory_order_relaxed); t < n_tasks_;
         t = next_task_.fetch_add(1, std::memory_order_relaxed)) {
        task_fn_(task_ctx_, t, thread_id);
        ++done;
    }
    // The count going down to zero releases this thread's writes to the caller (seq_cst, then the sleeper check).
    if (done > 0 && n_tasks_done_.fetch_sub(done) == done && caller_sleeping_.load()) n_tasks_done_.notify_one();
}

void ThreadPool::run_tasks_erased(int64_t n_tasks, TaskFn fn, void* ctx) {
    if (n_tasks > (int64_t(1) << 30)) throw std::length_error("ThreadPool::run_tasks: too many tasks for one job");
    task_fn_ = fn;
    task_ctx_ = ctx;
    n_tasks_ = n_tasks;
    next_task_.store(0, std::memory_order_relaxed);
    n_tasks_done_.store(int(n_tasks), std::memory_order_relaxed);  // counts down to 0
    const uint32_t g = next_generation(true);
    open_generation_.store(g);  // before the generation: a worker that sees g finds the job open
    generation_.store(g);
    if (n_sleeping_.load() > 0) generation_.notify_all();

    take_tasks(0);
    wait_for_zero(n_tasks_done_);
    // Close the job, then wait for the workers inside it (they are leaving: no task is left to take). The store and
    // the load below pair with a worker's enter-then-check (seq_cst both sides): either the worker sees the job
    // closed and never touches it, or this thread sees the worker inside and waits until it has left.
    open_generation_.store(g ^ 0x80000000u);
    for (int i = 0; n_inside_.load() != 0; ++i) {
        if (i < spin_iterations_) _mm_pause();
        else std::this_thread::yield();  // a worker preempted between entering and leaving: rare and short
    }
}

void ThreadPool::worker_loop(int thread_id) {
    // Not generation_.load(): a job dispatched before this thread first ran would be missed. The pool starts
    // at generation 0 and only run_erased / run_tasks_erased (after construction) move it.
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
        if (now & 1u) {
            // A tasks job may already be over (and the next one being set up): enter, then check it is still open.
            n_inside_.fetch_add(1);
            if (open_generation_.load() == now) take_tasks(thread_id);
            n_inside_.fetch_sub(1);
            continue;
        }
        // A run() job cannot end without this thread: its fields stay as they are until n_pending_ reaches 0.
        job_fn_(job_ctx_, thread_id, n_threads_);
        if (n_pending_.fetch_sub(1) == 1 && caller_sleeping_.load()) n_pending_.notify_one();
    }
}

}  // namespace hotrod::cpu
