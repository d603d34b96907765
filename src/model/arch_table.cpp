// GGUF architecture name -> the family that reads its config, lists its tensors and runs its forward.
// qwen2 is llama with q/k/v biases and NeoX RoPE, so it shares arch_llama.cpp's manifest and forward.
#include "model/arch.h"

namespace hotrod::model {

namespace {

constexpr Arch kArchs[] = {
    {"llama", read_config_llama, manifest_llama, forward_llama},
    {"qwen2", read_config_qwen2, manifest_llama, forward_llama},
    {"qwen3", read_config_qwen3, manifest_qwen3, forward_qwen3},
    {"qwen35", read_config_qwen35, manifest_qwen35, forward_qwen35},
    {"gemma3", read_config_gemma3, manifest_gemma3, forward_gemma3},
};

}  // namespace

const Arch* find_arch(std::string_view name) {
    for (const Arch& a : kArchs)
        if (a.name == name) return &a;
    return nullptr;
}

std::string supported_archs() {
    std::string s;
    for (const Arch& a : kArchs) s += (s.empty() ? "" : ", ") + std::string(a.name);
    return s;
}

}  // namespace hotrod::model
