#!/usr/bin/env python3
"""Static throughput of the decode GEMV inner loops, per kernel ISA and per CPU model (issue 18, item 2).

Nothing here has an Intel core to time on, and valgrind cannot run AVX-512 code (under callgrind the CPUID it
reports has no AVX-512, so the avx512 kernels are never chosen). So the loops are read out of the built binary
(objdump) and given to llvm-mca (Debian's llvm-19 package: its Sapphire Rapids and Zen 4 scheduling models),
which simulates the loop body on each core's ports with every load hitting L1. That is the kernel's compute
ceiling: the weight bytes a core could stream per cycle if memory kept up. Decode is memory-bound wherever the
ceiling sits well above the core's share of the read bandwidth.

usage: bench/decode_loops_mca.py [HOTROD_BINARY] [LLVM_MCA]
  defaults: build-cpu/bin/hotrod, llvm-mca-19. Prints a markdown table (docs/model_speed.md).
"""
import re
import subprocess
import sys

BINARY = sys.argv[1] if len(sys.argv) > 1 else "build-cpu/bin/hotrod"
MCA = sys.argv[2] if len(sys.argv) > 2 else "llvm-mca-19"
CPUS = ["znver4", "sapphirerapids", "icelake-server"]

# (format, symbol regex, which inner loop, weight bytes one iteration reads). The 32-element formats' decode loop
# (one column, rows in pairs: q32_rows_cols<K, 1, 2>, inlined into dot_*) is the inner loop with two prefetches
# and two dot instructions: 2 blocks a trip. The K formats' loops take one super-block a trip: dot_group<K, 1>
# (AVX2) and the per-block loop of dot_runs<K, 1> (AVX-512; the run's transpose and float steps, once per 8
# super-blocks, are outside it and not counted).
KERNELS = [
    ("Q4_1", r"kernels::dot_q4_1_avx2\(", "pair", 2 * 20),
    ("Q4_1", r"kernels::dot_q4_1_avx512\(", "pair", 2 * 20),
    ("Q8_0", r"kernels::dot_q8_0_avx2\(", "pair", 2 * 34),
    ("Q8_0", r"kernels::dot_q8_0_avx512\(", "pair", 2 * 34),
    ("Q4_K", r"dot_group<.*Q4K, 1>", "largest", 144),
    ("Q4_K", r"dot_runs<.*Q4K, 1>", "largest", 144),
    ("Q6_K", r"dot_group<.*Q6K, 1>", "largest", 210),
    ("Q6_K", r"dot_runs<.*Q6K, 1>", "largest", 210),
]


def symbols(pattern):
    out = subprocess.run(["nm", "-S", "-C", BINARY], capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        parts = line.split(" ", 3)
        if len(parts) == 4 and parts[2] in "tT" and re.search(pattern, parts[3]):
            yield int(parts[0], 16), int(parts[1], 16)


def instructions(addr, size):
    out = subprocess.run(["objdump", "-d", "--no-show-raw-insn", f"--start-address={addr}",
                          f"--stop-address={addr + size}", BINARY], capture_output=True, text=True, check=True).stdout
    return [(int(m.group(1), 16), m.group(2).split("#")[0].strip())
            for m in (re.match(r"\s+([0-9a-f]+):\s+(.*)", l) for l in out.splitlines()) if m]


def inner_loops(ins, addr):
    index = {a: k for k, (a, _) in enumerate(ins)}
    loops = []
    for i, (a, text) in enumerate(ins):
        m = re.match(r"j\w+\s+([0-9a-f]+)", text)
        if m and addr <= int(m.group(1), 16) < a and int(m.group(1), 16) in index:
            loops.append((index[int(m.group(1), 16)], i))
    return [(s, e) for s, e in loops if not any(s <= s2 and e2 <= e and (s2, e2) != (s, e) for s2, e2 in loops)]


def pick(ins, loops, how):
    def count(s, e, pat):
        return sum(bool(re.search(pat, t)) for _, t in ins[s:e + 1])
    loops = [(s, e) for s, e in loops if count(s, e, "vpdp|vpmaddubsw")]  # the loops that multiply
    if how == "pair":
        loops = [(s, e) for s, e in loops if count(s, e, "prefetch") == 2 and count(s, e, "vpdpbusd|vpmaddubsw") == 2]
    return max(loops, key=lambda l: l[1] - l[0])


def mca(body, cpu):
    out = subprocess.run([MCA, f"-mcpu={cpu}", "-iterations=500"], input="\n".join(body) + "\n",
                         capture_output=True, text=True, check=True).stdout
    cycles = int(re.search(r"Total Cycles:\s+(\d+)", out).group(1))
    return cycles / 500


def main():
    print("| format | kernel | instructions a trip | zmm | " + " | ".join(f"{c} cycles (B/cycle)" for c in CPUS) + " |")
    print("|---|---|---:|---|" + "---:|" * len(CPUS))
    for fmt, pattern, how, nbytes in KERNELS:
        for addr, size in symbols(pattern):
            ins = instructions(addr, size)
            s, e = pick(ins, inner_loops(ins, addr), how)
            # The body without its branches (llvm-mca takes straight-line code; the loop is its repetition).
            body = [re.sub(r"<[^>]*>", "", t) for _, t in ins[s:e + 1] if not t.startswith("j")]
            isa = "avx512" if any(re.search(r"%zmm|%k[1-7]|vpdp|\{", t) for t in body) else "avx2"
            zmm = "yes" if any("%zmm" in t for t in body) else "no"
            cells = []
            for cpu in CPUS:
                c = mca(body, cpu)
                cells.append(f"{c:.1f} ({nbytes / c:.1f})")
            name = re.sub(r"\(.*", "", pattern).replace("\\", "").replace(".*", "")
            print(f"| {fmt} | {isa}: {name} | {len(body)} | {zmm} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
