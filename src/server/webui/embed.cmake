# Writes OUT, a C++ file holding IN (the chat page) as bytes, so the page is part of the binary (no files to
# install, no CDN). Run by src/server/CMakeLists.txt whenever the page changes.
file(READ "${IN}" hex HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
file(WRITE "${OUT}" "// Generated from src/server/webui/index.html by src/server/webui/embed.cmake: do not edit.
#include \"server/webui.h\"

namespace hotrod::server {
namespace {
const unsigned char kPage[] = {${bytes}};
}  // namespace
std::string_view webui_page() { return {reinterpret_cast<const char*>(kPage), sizeof kPage}; }
}  // namespace hotrod::server
")
