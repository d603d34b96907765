// Construction helpers of the compiled grammar tables (grammar_nodes.h).
#include "sample/grammar_nodes.h"

#include <algorithm>

namespace hotrod::sample {

void ByteTrie::insert(const std::string& bytes, int32_t index) {
    int32_t node = 0;
    nodes[0].below.push_back(index);
    for (char ch : bytes) {
        const auto b = static_cast<uint8_t>(ch);
        int32_t next = child(node, b);
        if (next < 0) {
            next = static_cast<int32_t>(nodes.size());
            nodes.emplace_back();
            auto& edges = nodes[static_cast<size_t>(node)].edges;
            edges.insert(std::upper_bound(edges.begin(), edges.end(), std::make_pair(b, int32_t{-1}),
                                          [](const auto& x, const auto& y) { return x.first < y.first; }),
                         {b, next});
        }
        node = next;
        nodes[static_cast<size_t>(node)].below.push_back(index);
    }
    nodes[static_cast<size_t>(node)].terminal = index;
}

Grammar::Grammar() {
    Node any;
    any.types = kTypeAll;
    any.items = kAnyNode;
    any.additional = kAnyNode;
    nodes.push_back(any);
    literals.resize(2);
    literals[kBoolLiteral].insert("true", 0);
    literals[kBoolLiteral].insert("false", 1);
    literals[kNullLiteral].insert("null", 0);
}

}  // namespace hotrod::sample
