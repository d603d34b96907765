// Renders every template in ../shared/templates on the conversations of tests/fixtures/templates and
// compares with Python jinja2 run the way Hugging Face runs it (tests/fixtures/gen_templates.py):
// renders.jsonl holds sha256 + byte length + the first 200 characters of each output, so a mismatch
// prints the first differing offset when it falls in that head. HOTROD_TEMPLATE_DUMP=DIR writes our
// outputs to DIR to diff against `gen_templates.py --dump DIR2`.
#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "text/chat_template.h"
#include "text/jinja_value.h"

namespace {

namespace fs = std::filesystem;
using json = nlohmann::ordered_json;

// SHA-256 (FIPS 180-4), enough to compare rendered prompts with the fixture hashes.
std::string sha256_hex(const std::string& data) {
    static const uint32_t k[64] = {
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01,
        0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc,
        0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
        0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
        0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08,
        0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
        0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};
    uint32_t h[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    std::string msg = data;
    uint64_t bit_len = static_cast<uint64_t>(data.size()) * 8;
    msg += static_cast<char>(0x80);
    while (msg.size() % 64 != 56) msg += '\0';
    for (int s = 56; s >= 0; s -= 8) msg += static_cast<char>((bit_len >> s) & 0xff);
    auto rotr = [](uint32_t x, int n) { return (x >> n) | (x << (32 - n)); };
    for (size_t off = 0; off < msg.size(); off += 64) {
        uint32_t w[64];
        for (int t = 0; t < 16; ++t)
            w[t] = (uint32_t(uint8_t(msg[off + 4 * t])) << 24) | (uint32_t(uint8_t(msg[off + 4 * t + 1])) << 16) |
                   (uint32_t(uint8_t(msg[off + 4 * t + 2])) << 8) | uint32_t(uint8_t(msg[off + 4 * t + 3]));
        for (int t = 16; t < 64; ++t) {
            uint32_t s0 = rotr(w[t - 15], 7) ^ rotr(w[t - 15], 18) ^ (w[t - 15] >> 3);
            uint32_t s1 = rotr(w[t - 2], 17) ^ rotr(w[t - 2], 19) ^ (w[t - 2] >> 10);
            w[t] = w[t - 16] + s0 + w[t - 7] + s1;
        }
        uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
        for (int t = 0; t < 64; ++t) {
            uint32_t t1 = hh + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + k[t] + w[t];
            uint32_t t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
            hh = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
        }
        h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e; h[5] += f; h[6] += g; h[7] += hh;
    }
    std::string out;
    char buf[9];
    for (uint32_t x : h) {
        std::snprintf(buf, sizeof buf, "%08x", x);
        out += buf;
    }
    return out;
}

std::string read_file(const fs::path& p) {
    std::ifstream f(p, std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

TEST(ChatTemplateFixtures, Sha256KnownAnswer) {
    EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(ChatTemplateFixtures, RealTemplatesMatchPythonJinja2) {
    const fs::path templates = fs::path(HOTROD_SOURCE_DIR) / ".." / "shared" / "templates";
    const fs::path fixtures = fs::path(HOTROD_FIXTURES_DIR) / "templates";
    if (!fs::exists(templates)) GTEST_SKIP() << "no " << templates;
    const json conv = json::parse(read_file(fixtures / "conversations.json"));
    std::map<std::string, json> cases;
    for (const auto& c : conv["cases"]) cases[c["name"].get<std::string>()] = c;
    const char* dump = std::getenv("HOTROD_TEMPLATE_DUMP");

    std::tm now{};
    now.tm_year = 2025 - 1900;
    now.tm_mon = 0;
    now.tm_mday = 15;
    now.tm_hour = 10;
    now.tm_min = 30;
    now.tm_wday = 3;
    now.tm_yday = 14;

    std::ifstream lines(fixtures / "renders.jsonl");
    std::string line;
    int n_pairs = 0, n_pass = 0, n_python_errors = 0, n_lenient = 0;
    std::map<std::string, std::unique_ptr<hotrod::text::ChatTemplate>> parsed;
    std::map<std::string, std::string> parse_errors;
    while (std::getline(lines, line)) {
        const json rec = json::parse(line);
        if (!rec["ok"].get<bool>()) {
            ++n_python_errors;
            // Not compared; counted when we render where Python raised (e.g. list.append, refused by HF's sandbox).
            try {
                const json& c = cases.at(rec["case"].get<std::string>());
                hotrod::text::ChatInputs in;
                in.messages = c["messages"];
                in.tools = c.contains("tools") ? c["tools"] : json();
                in.add_generation_prompt = c["add_generation_prompt"];
                if (c.contains("kwargs")) in.extra = c["kwargs"];
                in.now = now;
                hotrod::text::ChatTemplate(read_file(templates / rec["template"].get<std::string>())).render(in);
                ++n_lenient;
            } catch (const std::exception&) {
            }
            continue;
        }
        ++n_pairs;
        const std::string tname = rec["template"];
        const json& c = cases.at(rec["case"].get<std::string>());
        if (!parsed.count(tname) && !parse_errors.count(tname)) {
            try {
                parsed[tname] = std::make_unique<hotrod::text::ChatTemplate>(read_file(templates / tname), tname);
            } catch (const std::exception& e) {
                parse_errors[tname] = e.what();
            }
        }
        if (parse_errors.count(tname)) {
            ADD_FAILURE() << tname << ": parse error: " << parse_errors[tname];
            continue;
        }
        hotrod::text::ChatInputs in;
        in.messages = c["messages"];
        in.tools = c.contains("tools") ? c["tools"] : json();
        in.add_generation_prompt = c["add_generation_prompt"];
        in.bos_token = conv["bos_token"];
        in.eos_token = conv["eos_token"];
        if (c.contains("kwargs")) in.extra = c["kwargs"];
        in.now = now;
        std::string out;
        try {
            out = parsed[tname]->render(in);
        } catch (const std::exception& e) {
            ADD_FAILURE() << tname << " x " << c["name"].get<std::string>() << ": render error: " << e.what();
            continue;
        }
        if (dump) {
            std::ofstream(fs::path(dump) / (tname + "." + c["name"].get<std::string>() + ".txt"), std::ios::binary) << out;
        }
        if (sha256_hex(out) == rec["sha256"].get<std::string>() && out.size() == rec["n_bytes"].get<size_t>()) {
            ++n_pass;
            continue;
        }
        const std::string head = rec["head"];
        size_t k = 0;
        while (k < head.size() && k < out.size() && head[k] == out[k]) ++k;
        ADD_FAILURE() << tname << " x " << c["name"].get<std::string>() << ": output differs (ours " << out.size()
                      << " bytes, python " << rec["n_bytes"].get<size_t>() << "); first difference at byte " << k
                      << (k < head.size() ? "" : " or later (beyond the stored head)") << "\n  ours:   "
                      << json(hotrod::text::jinja::Value::string(out.substr(k > 40 ? k - 40 : 0, 120)).s).dump()
                      << "\n  python: " << json(head.substr(k > 40 ? k - 40 : 0, 120)).dump();
    }
    std::printf("templates x conversations: %d of %d pairs byte-identical (%d pairs where Python raised, skipped; "
                "%d of those render here)\n", n_pass, n_pairs, n_python_errors, n_lenient);
    EXPECT_GT(n_pairs, 0);
}

}  // namespace
