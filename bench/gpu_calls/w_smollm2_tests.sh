#!/usr/bin/env bash
# Call W (no carry; after call T unpacked the pack and calls U / N brought SmolLM2's parts on the same warm machine):
# the SmolLM2 GPU tests, among them GpuModel.KindsMakeBatchedBitEqualToAloneSmolLM2 (batch invariance by token
# kind on the real model, bit for bit), then SmolLM2's tg128 with HOTROD_CUDA_DECODE_MMA=0 / 1 (its Q4_1 weights
# keep the dp4a kernel; only a Q6_K output matrix would change) as a sanity check of the switch.
set -uo pipefail
cd "$(dirname "$0")/../.."
source bench/gpu_calls/call_lib.sh
use_pack
join_smollm2
run_cuda_tests '*SmolLM2*' 300 tests_smollm2.txt
