// The one CPU thread pool: n_threads - 1 workers (pinned unless HOTROD_PIN says otherwise: should_pin) plus the calling thread, which takes part in every
// job. Dispatch is an atomic generation counter the workers spin on for a short while before sleeping on a
// futex (std::atomic::wait), because a forward pass dispatches a few hundred jobs per token and a sleep and
// wake-up per op is where small models lose their time. Objects of this type are handed down, never global.
#pragma once

#include <atomic>
#include <cstdint>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

namespace hotrod::cpu {

// Whether to pin the workers: HOTROD_PIN=0 never; =auto only when the 1-minute load average (load, -1 when
// unknown) leaves our threads their cores (load + n_threads <= n_cpus + 0.5); unset or anything else, always.
// A pinned worker cannot move to a core that frees up, which lost on a loaded Intel VM (issue 18: decode 22-30
// pinned against 39 t/s unpinned); on this project's 2-core AMD VM with one competing busy loop pinned won
// (bench/busy_host.sh: 59-68 against 55-59 t/s), so pinning stays the default and auto is a choice.
bool should_pin(const char* env, double load, int n_cpus, int n_threads);

// Threads a pool of n_threads <= 0 gets: one per CPU this process may run on (its affinity mask), else the
// hardware's count.
int default_thread_count();

class ThreadPool {
public:
    // n_threads <= 0: one per CPU this process may run on. spin_iterations: pause loops a worker waits for the
    // next job before it sleeps (2000: some tens of microseconds, longer than the gap between two ops of a
    // forward pass, short enough that a spinning thread does not burn its scheduler share on a busy host).
    explicit ThreadPool(int n_threads = 0, int spin_iterations = 2000);
    ~ThreadPool();
    ThreadPool(const ThreadPool&) = delete;
    ThreadPool& operator=(const ThreadPool&) = delete;

    int n_threads() const { return n_threads_; }

    // Runs fn(thread_id, n_threads) once on every thread (the caller is thread 0) and returns when all are
    // done. fn must not throw. Not re-entrant: one job at a time, from one calling thread.
    template <class F>
    void run(F&& fn) {
        using Fn = std::remove_reference_t<F>;
        run_erased(
            [](void* ctx, int thread_id, int n_threads) { (*static_cast<Fn*>(ctx))(thread_id, n_threads); },
            const_cast<void*>(static_cast<const void*>(&fn)));
    }

    // Runs fn(task, thread_id) for every task in [0, n_tasks) and returns when every task is done. Threads take
    // the next task from a shared counter, and the job ends when its tasks are done, not when every worker has
    // called in: a worker the OS has preempted (a busy host) neither holds a task back nor the caller, who does
    // its share. Such a late worker finds the job closed and skips it. thread_id is unique among the threads
    // running tasks of one job (per-thread scratch may be indexed by it).
    template <class F>
    void run_tasks(int64_t n_tasks, F&& fn) {
        if (n_tasks <= 0) return;
        if (n_tasks == 1 || n_threads_ == 1) {
            for (int64_t t = 0; t < n_tasks; ++t) fn(t, 0);
            return;
        }
        using Fn = std::remove_reference_t<F>;
        run_tasks_erased(
            n_tasks, [](void* ctx, int64_t task, int thread_id) { (*static_cast<Fn*>(ctx))(task, thread_id); },
            const_cast<void*>(static_cast<const void*>(&fn)));
    }

private:
    using JobFn = void (*)(void* ctx, int thread_id, int n_threads);
    using TaskFn = void (*)(void* ctx, int64_t task, int thread_id);
    void run_erased(JobFn fn, void* ctx);
    void run_tasks_erased(int64_t n_tasks, TaskFn fn, void* ctx);
    // The next generation number for a job of this kind: generations step by 2 and bit 0 tells the kind (1: a
    // tasks job), so a worker knows from the number alone how to treat the job it sees.
    uint32_t next_generation(bool tasks) const { return (generation_.load(std::memory_order_relaxed) & ~1u) + 2 + (tasks ? 1 : 0); }
    void take_tasks(int thread_id);  // runs tasks of the open tasks job until none is left
    void wait_for_zero(std::atomic<int>& counter);
    void worker_loop(int thread_id);

    int n_threads_ = 1;
    int spin_iterations_ = 0;
    std::vector<std::thread> workers_;

    JobFn job_fn_ = nullptr;  // a run() job (all threads)
    void* job_ctx_ = nullptr;
    TaskFn task_fn_ = nullptr;  // a run_tasks() job
    void* task_ctx_ = nullptr;
    int64_t n_tasks_ = 0;
    bool stopping_ = false;
    // Each field the hot loop touches sits on its own cache line so spinning readers do not slow the writer.
    alignas(64) std::atomic<uint32_t> generation_{0};
    alignas(64) std::atomic<int> n_sleeping_{0};
    alignas(64) std::atomic<int> n_pending_{0};  // run(): workers yet to finish
    alignas(64) std::atomic<bool> caller_sleeping_{false};
    // run_tasks(): the generation workers may still enter (anything else once closed), the workers inside it,
    // the next task to take and the tasks done.
    alignas(64) std::atomic<uint32_t> open_generation_{0};
    alignas(64) std::atomic<int> n_inside_{0};
    alignas(64) std::atomic<int64_t> next_task_{0};
    alignas(64) std::atomic<int> n_tasks_done_{0};
};

}  // namespace hotrod::cpu
