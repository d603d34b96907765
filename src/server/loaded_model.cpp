// Loading for `hotrod serve`: backend → model (mmap) → tokenizer → chat template → engine. The stages and their
// weights in the progress fraction are rough (the mmap is quick; the engine sizes the KV cache).
#include "server/loaded_model.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>

#include "device/device.h"
#include "server/tool_grammar.h"
#include "text/reasoning.h"
#include "text/vocab.h"

namespace hotrod::server {

LoadedModel::LoadedModel() = default;
LoadedModel::~LoadedModel() = default;

std::vector<int32_t> LoadedModel::encode_prompt(const std::string& text) const {
    return tok->encode_prompt(text, /*parse_special=*/true);
}

engine::Pooling choose_pooling(const std::string& flag, int file_pooling_type, const std::string& arch) {
    if (flag == "mean") return engine::Pooling::mean;
    if (flag == "cls") return engine::Pooling::cls;
    if (flag == "last") return engine::Pooling::last;
    if (!flag.empty()) throw std::runtime_error("--pooling " + flag + ": expected mean, cls or last");
    switch (file_pooling_type) {
        case 1: return engine::Pooling::mean;
        case 2: return engine::Pooling::cls;
        case 3: return engine::Pooling::last;
        case -1:
            throw std::runtime_error("--embeddings: the model file has no " + arch +
                                     ".pooling_type (a chat model, not an embedding model); choose how its states "
                                     "are pooled with --pooling mean|cls|last");
        default:
            throw std::runtime_error("--embeddings: the model file's " + arch + ".pooling_type is " +
                                     std::to_string(file_pooling_type) +
                                     " (0 none, 4 rank: not an embedding); choose one with --pooling mean|cls|last");
    }
}

std::unique_ptr<LoadedModel> load_model(const ServeOptions& opt, const LoadProgress& progress) {
    const auto t0 = std::chrono::steady_clock::now();
    auto m = std::make_unique<LoadedModel>();
    progress("backend", 0.0);
    device::DeviceOptions dev = opt.device;
    dev.n_threads = opt.n_threads;
    device::BackendGroup g = device::make_backend_group(dev, opt.tensor_parallel);
    m->group = std::move(g.group);
    m->be = std::move(g.ranks[0]);
    for (size_t r = 1; r < g.ranks.size(); ++r) m->rank_be.push_back(std::move(g.ranks[r]));
    m->device = m->be->name();
    if (opt.tensor_parallel > 1) m->device += " x " + std::to_string(opt.tensor_parallel) + " ranks";

    progress("model", 0.1);
    model::LoadOptions lo;
    engine::EngineOptions eo;
    eo.n_parallel = opt.n_parallel;
    eo.max_queue = opt.max_queue;
    eo.n_threads = opt.n_threads;
    eo.step_tokens = opt.step_tokens;
    eo.jump_forward = opt.jump_forward;
    lo.max_batch_tokens = std::max(512, eo.step_tokens);
    lo.max_logit_rows = std::max(64, opt.n_parallel);
    lo.max_seqs = std::max(256, opt.n_parallel);
    // Mean pooling reads every row of a prefill chunk.
    if (opt.embeddings) lo.max_embd_rows = lo.max_batch_tokens;
    // Uploading weights is most of a GPU load; on the CPU they are mapped, and this passes in a blink.
    lo.on_weight_progress = [&](size_t done, size_t total) {
        progress("weights", 0.1 + 0.4 * (total ? double(done) / double(total) : 1.0));
    };
    lo.tp = {0, opt.tensor_parallel};
    m->model = model::Model::load(opt.model_path, *m->be, lo);
    lo.on_weight_progress = nullptr;
    for (size_t r = 0; r < m->rank_be.size(); ++r) {
        lo.tp = {int(r) + 1, opt.tensor_parallel};
        m->rank_models.push_back(model::Model::load(opt.model_path, *m->rank_be[r], lo));
    }
    m->n_vocab = m->model->config().n_vocab;
    if (opt.embeddings)
        m->pooling = choose_pooling(opt.pooling, m->model->config().pooling_type, m->model->config().arch);

    progress("tokenizer", 0.5);
    m->tok = std::make_unique<text::Tokenizer>(text::load_vocab(m->model->file()));

    progress("chat template", 0.6);
    const gguf::File& f = m->model->file();
    text::TemplateChoice choice;
    if (!opt.chat_template_file.empty()) {
        std::ifstream in(opt.chat_template_file, std::ios::binary);
        if (!in) throw std::runtime_error("cannot read the chat template file " + opt.chat_template_file);
        std::ostringstream text;
        text << in.rdbuf();
        choice.source = text.str();
        choice.origin = "file:" + opt.chat_template_file;
    } else {
        choice = text::choose_chat_template([&](std::string_view key) -> std::optional<std::string> {
            return f.find<std::string>(key);
        });
    }
    if (!choice.warning.empty()) std::fprintf(stderr, "hotrod serve: %s\n", choice.warning.c_str());
    m->template_knows_thinking = text::template_supports_enable_thinking(choice.source);
    m->tool_syntax = text::detect_tool_syntax(choice.source);
    m->template_origin = choice.origin;
    m->chat_template = std::make_unique<text::ChatTemplate>(choice.source);
    if (m->tool_syntax != text::ToolSyntax::none) {
        std::string why;
        m->tool_calls_forced = template_writes_forced_calls(*m->chat_template, m->tool_syntax, &why);
        if (!m->tool_calls_forced)
            std::fprintf(stderr, "hotrod serve: tool calls (%s) are parsed but not constrained: %s\n",
                         text::tool_syntax_name(m->tool_syntax), why.c_str());
    }

    progress("engine", 0.7);
    // The KV cache: -c positions on the CPU; on a GPU, unless -c says otherwise, what memory is left after the
    // weights and activations (within --gpu-mem-fraction), as vLLM sizes it: the cache sizes its blocks from that
    // budget (K/V of the attention layers only, after a hybrid model's recurrent state) and says so when it holds
    // not even one block.
    if (const size_t free_bytes = m->be->memory_free(); free_bytes > 0 && !opt.n_ctx_given) eo.kv_bytes = free_bytes;
    std::vector<model::Model*> ranks{m->model.get()};
    for (auto& rm : m->rank_models) ranks.push_back(rm.get());
    m->engine = std::make_unique<engine::Engine>(ranks, *m->tok, opt.n_ctx, eo);
    m->max_context = m->engine->max_context();

    // Warm-up: one token through the engine, so the first client does not pay for faulting in the mapped
    // weights and first-touch buffers (~40 ms on SmolLM2). It shows in the engine counters as one request.
    progress("warm-up", 0.9);
    const auto t_warm = std::chrono::steady_clock::now();
    engine::Request warm;
    warm.id = "warm-up";
    warm.prompt = m->encode_prompt("Hello");
    if (warm.prompt.empty()) warm.prompt = {0};
    warm.sampling.temperature = 0.0f;
    warm.max_tokens = 1;
    std::shared_ptr<engine::Stream> s = m->engine->submit(std::move(warm));
    std::vector<engine::Event> events;
    while (!s->finished()) s->wait(events, std::chrono::milliseconds(100));
    m->warmup_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t_warm).count();

    std::string stem = std::filesystem::path(opt.model_path).filename().string();
    if (stem.ends_with(".gguf")) stem.resize(stem.size() - 5);
    m->model_id = stem;
    m->load_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    progress("ready", 1.0);
    return m;
}

}  // namespace hotrod::server
