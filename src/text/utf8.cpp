// UTF-8 decode/encode and validation (RFC 3629: no overlongs, no surrogates, nothing above U+10FFFF).
#include "text/utf8.h"

namespace hotrod::text {

namespace {

bool is_cont(unsigned char c) { return (c & 0xC0) == 0x80; }

}  // namespace

size_t utf8_decode(std::string_view s, size_t pos, char32_t* cp) {
    if (pos >= s.size()) return 0;
    const auto c0 = static_cast<unsigned char>(s[pos]);
    if (c0 < 0x80) {
        *cp = c0;
        return 1;
    }
    size_t n;
    char32_t v;
    char32_t min;
    if ((c0 & 0xE0) == 0xC0) {
        n = 2, v = c0 & 0x1F, min = 0x80;
    } else if ((c0 & 0xF0) == 0xE0) {
        n = 3, v = c0 & 0x0F, min = 0x800;
    } else if ((c0 & 0xF8) == 0xF0) {
        n = 4, v = c0 & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if (s.size() - pos < n) return 0;
    for (size_t k = 1; k < n; ++k) {
        const auto c = static_cast<unsigned char>(s[pos + k]);
        if (!is_cont(c)) return 0;
        v = (v << 6) | (c & 0x3F);
    }
    if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return 0;
    *cp = v;
    return n;
}

void utf8_append(std::string& out, char32_t cp) {
    if (cp < 0x80) {
        out += char(cp);
    } else if (cp < 0x800) {
        out += char(0xC0 | (cp >> 6));
        out += char(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out += char(0xE0 | (cp >> 12));
        out += char(0x80 | ((cp >> 6) & 0x3F));
        out += char(0x80 | (cp & 0x3F));
    } else {
        out += char(0xF0 | (cp >> 18));
        out += char(0x80 | ((cp >> 12) & 0x3F));
        out += char(0x80 | ((cp >> 6) & 0x3F));
        out += char(0x80 | (cp & 0x3F));
    }
}

bool utf8_valid(std::string_view s) {
    char32_t cp;
    for (size_t pos = 0; pos < s.size();) {
        if (static_cast<unsigned char>(s[pos]) < 0x80) {
            ++pos;
            continue;
        }
        const size_t n = utf8_decode(s, pos, &cp);
        if (n == 0) return false;
        pos += n;
    }
    return true;
}

std::string utf8_sanitize(std::string_view s) {
    if (utf8_valid(s)) return std::string(s);
    std::string out;
    out.reserve(s.size() + 16);
    char32_t cp;
    for (size_t pos = 0; pos < s.size();) {
        const size_t n = utf8_decode(s, pos, &cp);
        if (n == 0) {
            utf8_append(out, kReplacementChar);
            ++pos;
        } else {
            out.append(s.substr(pos, n));
            pos += n;
        }
    }
    return out;
}

size_t utf8_complete_prefix(std::string_view s) {
    // Only the last 3 bytes can be the start of an unfinished sequence.
    const size_t n = s.size();
    for (size_t back = 1; back <= 3 && back <= n; ++back) {
        const auto c = static_cast<unsigned char>(s[n - back]);
        if (is_cont(c)) continue;
        if (c < 0x80) return n;
        const size_t need = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
        if (need == 0 || need <= back) return n;  // invalid lead, or the sequence is complete
        // Incomplete: hold it back only if what is there could still become a valid character.
        std::string probe(s.substr(n - back));
        while (probe.size() < need) probe += char(0x80 | (probe.size() == 1 && c == 0xE0 ? 0x20 : probe.size() == 1 && c == 0xF0 ? 0x10 : 0));
        char32_t cp;
        return utf8_decode(probe, 0, &cp) == need ? n - back : n;
    }
    return n;
}

}  // namespace hotrod::text
