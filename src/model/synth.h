// Synthetic models: random weights in a real architecture's shape and a real quantization mix, with the real
// tokenizer metadata copied from a vocab GGUF, written with our GGUF writer. Deterministic: the same options
// give the same bytes, so a test can rebuild the very file a fixture script ran through llama.cpp.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "model/config.h"

namespace hotrod::model {

struct SynthOptions {
    std::string arch = "qwen3";   // qwen3 | qwen35 | gemma3
    std::string shape = "tiny";   // qwen3: tiny | 0.6b | 4b; qwen35: tiny | 0.8b | 4b; gemma3: tiny | 270m
    std::string quant = "q8_0";   // q4_k_m | q8_0 | f16
    std::string vocab_path;       // a GGUF holding tokenizer.ggml.* (e.g. ggml-vocab-qwen2.gguf)
    std::string chat_template_path;  // written as tokenizer.chat_template when set
    uint64_t seed = 1;
    bool quick_quant = false;     // Q4_K / Q6_K without the scale search (quant::quantize_row_quick): other bytes,
                                  // the same shapes, minutes less for a 4B model (the GPU runs' benchmark files)
};

// The Config a shape stands for (n_vocab taken from the vocab file). Throws Error for an unknown arch/shape.
Config synth_config(const SynthOptions& opt, int n_vocab);

// Builds the model and writes it to path. Throws Error (bad options, unreadable vocab) or gguf::Error.
void write_synthetic_model(const SynthOptions& opt, const std::string& path);

}  // namespace hotrod::model
