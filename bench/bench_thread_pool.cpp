// Thread-pool dispatch latency: the cost of one run() of an empty job (what every op of a forward pass pays on
// top of its work), with workers spinning (back-to-back jobs, as in a decode step) and after they fell asleep.
#include <benchmark/benchmark.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "cpu/thread_pool.h"

namespace {

void BM_DispatchHot(benchmark::State& state) {
    hotrod::cpu::ThreadPool pool(int(state.range(0)));
    std::atomic<int> n{0};
    for (auto _ : state) pool.run([&](int, int) { n.fetch_add(1, std::memory_order_relaxed); });
    benchmark::DoNotOptimize(n.load());
}

// Workers asleep (spin budget 0): the futex wake-up path.
void BM_DispatchCold(benchmark::State& state) {
    hotrod::cpu::ThreadPool pool(int(state.range(0)), /*spin_iterations=*/0);
    std::atomic<int> n{0};
    for (auto _ : state) pool.run([&](int, int) { n.fetch_add(1, std::memory_order_relaxed); });
    benchmark::DoNotOptimize(n.load());
}

}  // namespace

BENCHMARK(BM_DispatchHot)->Arg(1)->Arg(2)->ArgName("threads")->UseRealTime();
BENCHMARK(BM_DispatchCold)->Arg(2)->ArgName("threads")->UseRealTime();

BENCHMARK_MAIN();
