// The shared load / prefill / generate steps of `hotrod run` and `hotrod chat` (see generation.h).
#include "generation.h"

#include <unistd.h>

#include <algorithm>
#include <optional>
#include <stdexcept>

#include "text/detokenize.h"
#include "text/utf8.h"

namespace hotrod::app {

Session load_session(const std::string& model_path, const device::DeviceOptions& dev, int n_ctx,
                     int max_batch_tokens, int max_logit_rows) {
    const auto t_load = Clock::now();
    Session s;
    s.be = device::make_backend(dev);
    model::LoadOptions lo;
    lo.max_batch_tokens = max_batch_tokens;
    // A GPU load uploads every weight (seconds for a 4B model): a progress bar on a terminal, a line per 10% else.
    if (!s.be->host_addressable()) {
        lo.on_weight_progress = [tty = isatty(STDERR_FILENO) != 0, last = -1](size_t done, size_t total) mutable {
            const int pct = total ? int(100.0 * double(done) / double(total)) : 100;
            if (tty) {
                std::fprintf(stderr, "\rloading weights to the GPU %3d%% (%zu / %zu MiB)%s", pct, done >> 20, total >> 20,
                             done >= total ? "\n" : "");
            } else if (pct / 10 > last) {
                last = pct / 10;
                std::fprintf(stderr, "loading weights to the GPU: %d%%\n", last * 10);
            }
        };
    }
    lo.max_logit_rows = max_logit_rows;
    lo.max_seqs = 1;
    s.model = model::Model::load(model_path, *s.be, lo);
    s.tok = std::make_unique<text::Tokenizer>(text::load_vocab(s.model->file()));
    model::KvOptions ko;
    ko.n_ctx = n_ctx;
    s.kv = std::make_unique<model::KvCache>(*s.be, s.model->config(), ko);
    s.seq_id = s.kv->add_sequence();
    s.load_ms = ms_since(t_load);
    return s;
}

std::string chat_template_source(const gguf::File& f, std::string_view who) {
    auto lookup = [&](std::string_view key) -> std::optional<std::string> { return f.find<std::string>(key); };
    text::TemplateChoice choice = text::choose_chat_template(lookup);
    if (!choice.warning.empty())
        std::fprintf(stderr, "%.*s: %s\n", int(who.size()), who.data(), choice.warning.c_str());
    return std::move(choice.source);
}

text::ChatInputs chat_inputs(const text::Tokenizer& tok) {
    text::ChatInputs in;
    in.add_generation_prompt = true;
    if (tok.bos_id() != text::kNoToken) in.bos_token = std::string(tok.piece(tok.bos_id(), true));
    if (tok.eos_id() != text::kNoToken) in.eos_token = std::string(tok.piece(tok.eos_id(), true));
    return in;
}

void prefill(Session& s, std::span<const text::TokenId> ids, size_t first) {
    const size_t chunk = size_t(s.model->options().max_batch_tokens);
    model::Batch batch;
    for (; first < ids.size(); first += chunk) {
        const size_t last = std::min(ids.size(), first + chunk);
        batch.clear();
        const int b = batch.add_sequence(s.seq_id);
        for (size_t i = first; i < last; ++i) batch.add(b, ids[i], int32_t(i), i + 1 == ids.size());
        batch.n_decode = 0;  // prompt tokens
        s.model->forward(batch, *s.kv);
    }
}

GenerateResult generate(Session& s, sample::Sampler& sampler, int32_t pos, const GenerateOptions& opt,
                        std::FILE* out) {
    const auto t0 = Clock::now();
    GenerateResult res;
    // A reply is a message of its own, so the decoder's space-prefix rule applies; a continuation keeps the space
    // that joins it to the prompt, hence the plain piece-by-piece path.
    text::StreamDecoder reply_decoder(*s.tok);
    std::string pending;
    auto write = [&](std::string_view text) {
        std::fwrite(text.data(), 1, text.size(), out);
        std::fflush(out);
    };
    model::Batch batch;
    while (int(res.tokens.size()) < opt.n_max) {
        if (opt.stop && opt.stop->load()) {
            res.stopped = true;
            break;
        }
        const sample::SampleResult r = sampler.sample(s.model->logits(0));
        if (!r.ok()) throw std::runtime_error(std::string("sampling: ") + sample::to_string(r.status));
        if (s.tok->is_eog(r.token_id)) {
            res.hit_eog = true;
            break;
        }
        sampler.accept(r.token_id);
        res.tokens.push_back(r.token_id);
        if (opt.reply) {
            write(reply_decoder.push(r.token_id));
        } else {
            pending += s.tok->piece(r.token_id);
            const size_t n_out = text::utf8_complete_prefix(pending);
            write(std::string_view(pending).substr(0, n_out));
            pending.erase(0, n_out);
        }
        if (int(res.tokens.size()) == opt.n_max) break;  // the last token needs no forward
        batch.clear();
        batch.add(batch.add_sequence(s.seq_id), r.token_id, pos++, true);
        batch.n_decode = 1;  // a generated token
        s.model->forward(batch, *s.kv);
        res.n_fed = res.tokens.size();
    }
    write(opt.reply ? reply_decoder.finish() : pending);
    res.ms = ms_since(t0);
    return res;
}

}  // namespace hotrod::app
