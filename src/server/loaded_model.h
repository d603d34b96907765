// LoadedModel: everything `hotrod serve` loads before it can answer generation requests: the CPU backend, the
// model, its tokenizer and chat template, the engine running them, and the compiled-grammar cache. Built once
// by load_model() (on its own thread, while the HTTP server already answers 503) and then only read.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine/engine.h"
#include "model/model.h"
#include "sample/grammar.h"
#include "backend/backend.h"
#include "server/serve_options.h"
#include "text/chat_template.h"
#include "text/tool_calls.h"
#include "text/tokenizer.h"

namespace hotrod::server {

// Members are destroyed bottom-up: the engine (which uses model, tokenizer and backend) goes first.
struct LoadedModel {
    LoadedModel();
    ~LoadedModel();
    std::shared_ptr<void> group;        // --tensor-parallel: the ranks' group (device::BackendGroup), outliving them
    std::unique_ptr<backend::Backend> be;  // rank 0's backend (the only one without --tensor-parallel)
    std::vector<std::unique_ptr<backend::Backend>> rank_be;  // ranks 1..N-1
    std::string device;                 // the backend's name: "cuda:0 (NVIDIA H100 ...)" or "cpu-avx512 (2 threads)"
    std::unique_ptr<model::Model> model;  // rank 0's slice with --tensor-parallel
    std::vector<std::unique_ptr<model::Model>> rank_models;  // ranks 1..N-1
    std::unique_ptr<text::Tokenizer> tok;
    std::unique_ptr<text::ChatTemplate> chat_template;
    std::string template_origin;        // "gguf:tokenizer.chat_template", "builtin:chatml", ...
    bool template_knows_thinking = false;  // the template reads enable_thinking
    text::ToolSyntax tool_syntax = text::ToolSyntax::none;  // how the template writes tool calls (tool_calls.h)
    bool tool_calls_forced = false;     // the grammar can force them as the template writes them (tool_grammar.h)
    sample::GrammarCache grammars;
    std::string model_id;               // the file's name without .gguf
    int32_t n_vocab = 0;
    int32_t max_context = 0;            // the engine's longest prompt + generation
    engine::Pooling pooling = engine::Pooling::none;  // /v1/embeddings' pooling; none without --embeddings
    double load_ms = 0;                 // everything, warm-up included
    double warmup_ms = 0;               // the one-token request run before the first client's
    std::unique_ptr<engine::Engine> engine;

    // Prompt ids of a text: BOS added as the vocabulary asks unless the text already starts with it (a template
    // that writes BOS itself must not get a second one); control-token text becomes its ids.
    std::vector<int32_t> encode_prompt(const std::string& text) const;
};

// The pooling of /v1/embeddings: the --pooling flag ("mean", "cls", "last") when given, else the file's
// {arch}.pooling_type (llama.cpp's numbering: 1 mean, 2 cls, 3 last). Throws, naming the flag, when neither gives
// one: a decoder-only chat model's file names none, and llama-server then pools nothing (its /v1/embeddings refuses
// pooling 'none'), so there is no default to match; the user picks (last for models trained as decoder
// embedders, mean for a chat model's states).
engine::Pooling choose_pooling(const std::string& flag, int file_pooling_type, const std::string& arch);

// stage: what is being loaded; fraction: how far the whole load is, in [0, 1]. Throws naming what failed.
using LoadProgress = std::function<void(const char* stage, double fraction)>;
std::unique_ptr<LoadedModel> load_model(const ServeOptions& opt, const LoadProgress& progress);

}  // namespace hotrod::server
