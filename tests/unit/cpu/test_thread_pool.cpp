// ThreadPool: every thread runs each job exactly once, run_tasks covers every task once, thousands of tiny jobs
// in a row neither deadlock nor lose a wake-up (including after the workers have gone to sleep), and two pools
// live side by side.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "cpu/thread_pool.h"

namespace hotrod::cpu {
namespace {

TEST(ThreadPool, EveryThreadRunsOnce) {
    for (int n : {1, 2, 3, 5}) {
        ThreadPool pool(n);
        ASSERT_EQ(pool.n_threads(), n);
        std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
        pool.run([&](int thread_id, int n_threads) {
            ASSERT_EQ(n_threads, n);
            hits[size_t(thread_id)].fetch_add(1);
        });
        for (auto& h : hits) EXPECT_EQ(h.load(), 1);
    }
}

// Pinned by default; HOTROD_PIN=0 never; =auto only when the load leaves our threads their cores.
TEST(ThreadPool, PinsAsHotrodPinSays) {
    EXPECT_TRUE(should_pin(nullptr, 5.0, 2, 2));
    EXPECT_TRUE(should_pin("1", 9.0, 2, 2));
    EXPECT_FALSE(should_pin("0", 0.0, 8, 2));
    EXPECT_TRUE(should_pin("auto", 0.1, 8, 8));
    EXPECT_TRUE(should_pin("auto", 2.0, 8, 6));
    EXPECT_FALSE(should_pin("auto", 3.0, 8, 6));  // a busy host: workers free to move
    EXPECT_FALSE(should_pin("auto", 1.0, 2, 2));
    EXPECT_TRUE(should_pin("auto", -1, 2, 2));    // load unknown: pinned
}

TEST(ThreadPool, DefaultSizeIsTheCpuCount) {
    ThreadPool pool;
    EXPECT_GE(pool.n_threads(), 1);
}

TEST(ThreadPool, RunTasksCoversEachTaskOnce) {
    ThreadPool pool(3);
    for (int64_t n_tasks : {0, 1, 2, 7, 1000}) {
        std::vector<std::atomic<int>> hits(static_cast<size_t>(n_tasks));
        pool.run_tasks(n_tasks, [&](int64_t t, int thread_id) {
            EXPECT_LT(thread_id, 3);
            hits[size_t(t)].fetch_add(1);
        });
        for (auto& h : hits) ASSERT_EQ(h.load(), 1);
    }
}

// The decode loop's pattern: many tiny jobs back to back. Every job's writes are visible after run() returns.
TEST(ThreadPool, ManyTinyJobs) {
    ThreadPool pool(2);
    std::vector<int64_t> slots(2, 0);
    int64_t total = 0;
    for (int i = 0; i < 20000; ++i) {
        pool.run([&](int thread_id, int) { slots[size_t(thread_id)] += i; });
        total += i;
        ASSERT_EQ(slots[0], total);
        ASSERT_EQ(slots[1], total);
    }
}

// Workers that have stopped spinning and sleep must still wake for the next job, and the caller must wake
// when a slow worker finishes after the caller went to sleep.
TEST(ThreadPool, WakesAfterSleeping) {
    ThreadPool pool(3, /*spin_iterations=*/10);
    std::atomic<int> count{0};
    for (int i = 0; i < 50; ++i) {
        if (i % 10 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
        pool.run([&](int thread_id, int) {
            if (thread_id == 2 && i % 7 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(2));
            count.fetch_add(1);
        });
        ASSERT_EQ(count.load(), 3 * (i + 1));
    }
}

// run_tasks() ends when its tasks are done, so a worker that wakes late finds the job over (or a later one open):
// tasks and run() jobs back to back, with sleeps that make workers late, must still run every task once, never
// two threads under one thread_id at a time, and every run() job on every thread once.
TEST(ThreadPool, LateWorkersSkipFinishedTaskJobs) {
    ThreadPool pool(3, /*spin_iterations=*/20);
    std::vector<std::atomic<int>> busy(3);
    int64_t run_total = 0;
    std::vector<int64_t> run_slots(3, 0);
    for (int i = 0; i < 3000; ++i) {
        const int64_t n_tasks = 2 + i % 5;
        std::vector<std::atomic<int>> hits(static_cast<size_t>(n_tasks));
        pool.run_tasks(n_tasks, [&](int64_t t, int thread_id) {
            ASSERT_EQ(busy[size_t(thread_id)].fetch_add(1), 0) << "thread id " << thread_id << " used twice at once";
            if (i % 97 == 0 && thread_id != 0) std::this_thread::sleep_for(std::chrono::microseconds(200));
            hits[size_t(t)].fetch_add(1);
            busy[size_t(thread_id)].fetch_sub(1);
        });
        for (auto& h : hits) ASSERT_EQ(h.load(), 1);
        if (i % 3 == 0) {
            pool.run([&](int thread_id, int) { run_slots[size_t(thread_id)] += i; });
            run_total += i;
            for (int64_t v : run_slots) ASSERT_EQ(v, run_total);
        }
        if (i % 500 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(2));  // let the workers sleep
    }
}

TEST(ThreadPool, TwoPoolsSideBySide) {
    ThreadPool a(2), b(2);
    std::atomic<int> n{0};
    for (int i = 0; i < 100; ++i) {
        a.run([&](int, int) { n.fetch_add(1); });
        b.run_tasks(3, [&](int64_t, int) { n.fetch_add(1); });
    }
    EXPECT_EQ(n.load(), 500);
}

}  // namespace
}  // namespace hotrod::cpu
