// Jinja lexer. Follows jinja2's rules: newlines normalised to \n and one trailing newline dropped;
// lstrip_blocks strips spaces/tabs before `{%`/`{#` on an otherwise blank line; trim_blocks drops the
// first newline after `%}`/`#}`; a tag end inside open brackets does not close the tag.
#include "text/jinja_lex.h"

#include <algorithm>

#include "text/jinja_value.h"

namespace hotrod::text::jinja {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }
bool is_name_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_name_char(char c) { return is_name_start(c) || is_digit(c); }

class Lexer {
public:
    Lexer(std::string src, const std::string& name, const LexOptions& opts) : src_(std::move(src)), name_(name), opts_(opts) {
        line_starts_.push_back(0);
        for (size_t k = 0; k < src_.size(); ++k)
            if (src_[k] == '\n') line_starts_.push_back(k + 1);
    }

    std::vector<Token> run() {
        size_t pos = 0;
        bool line_starting = true;
        while (pos < src_.size()) {
            size_t tag = find_tag(pos);
            if (tag == std::string::npos) {
                emit_text(src_.substr(pos), pos);
                break;
            }
            char type = src_[tag + 1];  // '{', '%' or '#'
            char sign = tag + 2 < src_.size() && (src_[tag + 2] == '-' || src_[tag + 2] == '+') ? src_[tag + 2] : 0;
            std::string text = src_.substr(pos, tag - pos);
            if (sign == '-') {
                size_t end = text.size();
                while (end > 0 && is_space(text[end - 1])) --end;
                text.resize(end);
            } else if (sign != '+' && opts_.lstrip_blocks && type != '{') {
                size_t l_pos = text.rfind('\n');
                l_pos = l_pos == std::string::npos ? 0 : l_pos + 1;
                if (l_pos > 0 || line_starting) {
                    bool blank = std::all_of(text.begin() + static_cast<long>(l_pos), text.end(), [](char c) { return c == ' ' || c == '\t'; });
                    if (blank) text.resize(l_pos);
                }
            }
            emit_text(text, pos);
            size_t body = tag + 2 + (sign ? 1 : 0);
            if (type == '#') pos = lex_comment(tag, body);
            else if (type == '%' && is_raw(body)) pos = lex_raw(tag, body);
            else pos = lex_tag(tag, body, type == '%');
            line_starting = pos > 0 && src_[pos - 1] == '\n';
        }
        Token eof{TokKind::Eof, "", 0, 0.0, 0, 0};
        locate(src_.size(), eof);
        out_.push_back(eof);
        return std::move(out_);
    }

private:
    std::string src_;
    const std::string& name_;
    LexOptions opts_;
    std::vector<size_t> line_starts_;
    std::vector<Token> out_;

    void locate(size_t pos, Token& t) const {
        auto it = std::upper_bound(line_starts_.begin(), line_starts_.end(), pos);
        size_t line = static_cast<size_t>(it - line_starts_.begin());
        t.line = static_cast<int>(line);
        t.col = static_cast<int>(pos - line_starts_[line - 1] + 1);
    }

    [[noreturn]] void fail(size_t pos, const std::string& msg) const {
        Token t;
        locate(pos, t);
        throw Error(name_, t.line, t.col, msg);
    }

    size_t find_tag(size_t pos) const {
        while (true) {
            size_t k = src_.find('{', pos);
            if (k == std::string::npos || k + 1 >= src_.size()) return std::string::npos;
            char c = src_[k + 1];
            if (c == '{' || c == '%' || c == '#') return k;
            pos = k + 1;
        }
    }

    void emit_text(const std::string& text, size_t pos) {
        if (text.empty()) return;
        Token t{TokKind::Text, text, 0, 0.0, 0, 0};
        locate(pos, t);
        out_.push_back(std::move(t));
    }

    void push(TokKind kind, std::string text, size_t pos) {
        Token t{kind, std::move(text), 0, 0.0, 0, 0};
        locate(pos, t);
        out_.push_back(std::move(t));
    }

    size_t skip_ws(size_t pos) const {
        while (pos < src_.size() && is_space(src_[pos])) ++pos;
        return pos;
    }

    // Comment: `(.*?)(-#}\s*|#}\n?)`.
    size_t lex_comment(size_t tag, size_t body) {
        size_t end = src_.find("#}", body);
        if (end == std::string::npos) fail(tag, "unterminated comment: expected '#}'");
        if (end > body && src_[end - 1] == '-') return skip_ws(end + 2);
        size_t pos = end + 2;
        if (opts_.trim_blocks && pos < src_.size() && src_[pos] == '\n') ++pos;
        return pos;
    }

    // `{% raw %}` (optionally with -/+): the word raw and then the tag end.
    bool is_raw(size_t body) const {
        size_t p = skip_ws(body);
        if (src_.compare(p, 3, "raw") != 0 || (p + 3 < src_.size() && is_name_char(src_[p + 3]))) return false;
        p = skip_ws(p + 3);
        if (p < src_.size() && src_[p] == '-') ++p;
        return src_.compare(p, 2, "%}") == 0;
    }

    size_t lex_raw(size_t tag, size_t body) {
        size_t p = skip_ws(body) + 3;
        p = skip_ws(p);
        bool strip_after = src_[p] == '-';
        p += strip_after ? 3 : 2;  // raw_begin takes no trim_blocks newline
        if (strip_after) p = skip_ws(p);
        size_t start = p;
        while (true) {
            size_t k = src_.find("{%", p);
            if (k == std::string::npos) fail(tag, "unterminated raw block: expected '{% endraw %}'");
            size_t q = k + 2;
            char sign = q < src_.size() && (src_[q] == '-' || src_[q] == '+') ? src_[q] : 0;
            if (sign) ++q;
            q = skip_ws(q);
            if (src_.compare(q, 6, "endraw") != 0) {
                p = k + 2;
                continue;
            }
            q = skip_ws(q + 6);
            std::string text = src_.substr(start, k - start);
            if (sign == '-') {
                while (!text.empty() && is_space(text.back())) text.pop_back();
            }
            emit_text(text, start);
            if (src_.compare(q, 3, "-%}") == 0) return skip_ws(q + 3);
            if (src_.compare(q, 3, "+%}") == 0) return q + 3;
            if (src_.compare(q, 2, "%}") != 0) fail(q, "expected '%}' after endraw");
            q += 2;
            if (opts_.trim_blocks && q < src_.size() && src_[q] == '\n') ++q;
            return q;
        }
    }

    // Expression tokens of a `{{ }}` or `{% %}` tag; returns the position after the tag end.
    size_t lex_tag(size_t tag, size_t body, bool block) {
        push(block ? TokKind::BlockBegin : TokKind::VarBegin, block ? "{%" : "{{", tag);
        size_t pos = body;
        int depth = 0;
        const char close = block ? '%' : '}';
        while (true) {
            pos = skip_ws(pos);
            if (pos >= src_.size()) fail(tag, std::string("unterminated tag: expected '") + (block ? "%}" : "}}") + "'");
            if (depth == 0) {
                if (src_[pos] == '-' && src_.compare(pos + 1, 2, std::string(1, close) + "}") == 0) {
                    push(block ? TokKind::BlockEnd : TokKind::VarEnd, "", pos);
                    return skip_ws(pos + 3);
                }
                if (block && src_.compare(pos, 3, "+%}") == 0) {
                    push(TokKind::BlockEnd, "", pos);
                    return pos + 3;
                }
                if (src_[pos] == close && pos + 1 < src_.size() && src_[pos + 1] == '}') {
                    push(block ? TokKind::BlockEnd : TokKind::VarEnd, "", pos);
                    pos += 2;
                    if (block && opts_.trim_blocks && pos < src_.size() && src_[pos] == '\n') ++pos;
                    return pos;
                }
            }
            char c = src_[pos];
            if (is_name_start(c)) {
                size_t e = pos;
                while (e < src_.size() && is_name_char(src_[e])) ++e;
                push(TokKind::Name, src_.substr(pos, e - pos), pos);
                pos = e;
            } else if (is_digit(c)) {
                pos = lex_number(pos);
            } else if (c == '\'' || c == '"') {
                pos = lex_string(pos);
            } else {
                static const char* const kOps2[] = {"//", "**", "==", "!=", "<=", ">="};
                std::string op;
                for (const char* o : kOps2)
                    if (src_.compare(pos, 2, o) == 0) op = o;
                if (op.empty()) {
                    if (std::string_view("+-*/%~<>=()[]{},.:|;!").find(c) == std::string_view::npos)
                        fail(pos, std::string("unexpected character '") + c + "' in tag");
                    op = std::string(1, c);
                }
                if (op == "(" || op == "[" || op == "{") ++depth;
                if ((op == ")" || op == "]" || op == "}") && depth > 0) --depth;
                push(TokKind::Op, op, pos);
                pos += op.size();
            }
        }
    }

    size_t lex_number(size_t pos) {
        size_t e = pos;
        auto digits = [&] { while (e < src_.size() && (is_digit(src_[e]) || src_[e] == '_')) ++e; };
        digits();
        bool is_float = false;
        if (e + 1 < src_.size() && src_[e] == '.' && is_digit(src_[e + 1])) {
            is_float = true;
            ++e;
            digits();
        }
        if (e < src_.size() && (src_[e] == 'e' || src_[e] == 'E')) {
            size_t q = e + 1;
            if (q < src_.size() && (src_[q] == '+' || src_[q] == '-')) ++q;
            if (q < src_.size() && is_digit(src_[q])) {
                is_float = true;
                e = q;
                digits();
            }
        }
        std::string text;
        for (size_t k = pos; k < e; ++k)
            if (src_[k] != '_') text += src_[k];
        Token t{is_float ? TokKind::Float : TokKind::Int, text, 0, 0.0, 0, 0};
        locate(pos, t);
        try {
            if (is_float) t.f = std::stod(text);
            else t.i = std::stoll(text);
        } catch (const std::exception&) {
            fail(pos, "number out of range: " + text);
        }
        out_.push_back(std::move(t));
        return e;
    }

    // Quoted string with Python escapes (\n \t \\ \' \" \xhh \uhhhh \Uhhhhhhhh); unknown escapes stay as written.
    size_t lex_string(size_t pos) {
        char q = src_[pos];
        std::string val;
        size_t k = pos + 1;
        while (true) {
            if (k >= src_.size()) fail(pos, "unterminated string literal");
            char c = src_[k];
            if (c == q) break;
            if (c != '\\' || k + 1 >= src_.size()) {
                val += c;
                ++k;
                continue;
            }
            char e = src_[k + 1];
            k += 2;
            switch (e) {
                case 'n': val += '\n'; break;
                case 't': val += '\t'; break;
                case 'r': val += '\r'; break;
                case '\\': val += '\\'; break;
                case '\'': val += '\''; break;
                case '"': val += '"'; break;
                case '0': val += '\0'; break;
                case 'a': val += '\a'; break;
                case 'b': val += '\b'; break;
                case 'f': val += '\f'; break;
                case 'v': val += '\v'; break;
                case '\n': break;
                case 'x': case 'u': case 'U': {
                    size_t n = e == 'x' ? 2 : e == 'u' ? 4 : 8;
                    if (k + n > src_.size()) fail(k, "truncated \\" + std::string(1, e) + " escape");
                    char32_t cp = 0;
                    for (size_t m = 0; m < n; ++m) {
                        char h = src_[k + m];
                        int d = is_digit(h) ? h - '0' : (h >= 'a' && h <= 'f') ? h - 'a' + 10 : (h >= 'A' && h <= 'F') ? h - 'A' + 10 : -1;
                        if (d < 0) fail(k, "bad \\" + std::string(1, e) + " escape");
                        cp = cp * 16 + static_cast<char32_t>(d);
                    }
                    if (cp > 0x10FFFF) fail(k, "escape out of range");
                    val += utf8_encode(std::u32string(1, cp));
                    k += n;
                    break;
                }
                default: val += '\\'; val += e; break;
            }
        }
        push(TokKind::String, std::move(val), pos);
        return k + 1;
    }
};

}  // namespace

std::vector<Token> lex(std::string_view source, const std::string& name, const LexOptions& opts) {
    std::string src;
    src.reserve(source.size());
    for (size_t k = 0; k < source.size(); ++k) {
        if (source[k] == '\r') {
            src += '\n';
            if (k + 1 < source.size() && source[k + 1] == '\n') ++k;
        } else {
            src += source[k];
        }
    }
    if (!src.empty() && src.back() == '\n') src.pop_back();  // keep_trailing_newline=False
    return Lexer(std::move(src), name, opts).run();
}

}  // namespace hotrod::text::jinja
