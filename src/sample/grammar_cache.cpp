// GrammarCache: compiled grammars by the schema's canonical text (its compact dump), behind one mutex. Compiling
// happens under the lock: two requests with the same new schema compile it once, and compile is fast.
#include <map>
#include <mutex>

#include "sample/grammar_nodes.h"

namespace hotrod::sample {

struct GrammarCache::Impl {
    mutable std::mutex mutex;
    std::shared_ptr<const Grammar> json_object;
    std::map<std::string, std::shared_ptr<const Grammar>> by_schema;
};

GrammarCache::GrammarCache() : impl_(std::make_shared<Impl>()) {}

GrammarCache::Impl& GrammarCache::impl() { return *impl_; }

std::shared_ptr<const Grammar> GrammarCache::json_object() {
    Impl& x = impl();
    std::lock_guard lock(x.mutex);
    if (!x.json_object) x.json_object = compile_json_object();
    return x.json_object;
}

std::shared_ptr<const Grammar> GrammarCache::json_schema(const nlohmann::json& schema) {
    return json_schema(nlohmann::ordered_json(schema));
}

std::shared_ptr<const Grammar> GrammarCache::json_schema(const nlohmann::ordered_json& schema) {
    // ordered_json keeps document order, which decides property order, so it is part of the key.
    std::string key = schema.dump();
    Impl& x = impl();
    std::lock_guard lock(x.mutex);
    auto it = x.by_schema.find(key);
    if (it != x.by_schema.end()) return it->second;
    auto grammar = compile_json_schema(schema);  // throws SchemaError: nothing cached
    x.by_schema.emplace(std::move(key), grammar);
    return grammar;
}

std::shared_ptr<const Grammar> GrammarCache::tool_calls(const CallSyntax& syntax, const std::vector<ToolSpec>& tools,
                                                        const ToolCallOptions& options) {
    // Every input that shapes the grammar, each text length-prefixed so no two inputs share a key.
    std::string key = "calls";
    auto add = [&key](std::string_view text) { key += std::to_string(text.size()) + ":" + std::string(text); };
    for (const std::string* t : {&syntax.prefix, &syntax.head, &syntax.mid, &syntax.close, &syntax.separator,
                                 &syntax.suffix, &syntax.trigger})
        add(*t);
    add(std::to_string(syntax.gap_ws) + (syntax.anchored ? "a" : "-") + (syntax.xml_params ? "x" : "-") +
        (options.lazy ? "l" : "-") + std::to_string(options.max_calls));
    for (const ToolSpec& t : tools) {
        add(t.name);
        add(t.parameters.dump());
        add(t.strict ? "s" : "-");
        add(t.where);
    }
    Impl& x = impl();
    std::lock_guard lock(x.mutex);
    auto it = x.by_schema.find(key);
    if (it != x.by_schema.end()) return it->second;
    auto grammar = compile_tool_calls(syntax, tools, options);  // throws SchemaError: nothing cached
    x.by_schema.emplace(std::move(key), grammar);
    return grammar;
}

size_t GrammarCache::size() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->by_schema.size() + (impl_->json_object ? 1 : 0);
}

}  // namespace hotrod::sample
