// The chat page `hotrod serve` answers at / (src/server/webui/index.html, embedded at build time by embed.cmake).
#pragma once

#include <string_view>

namespace hotrod::server {

std::string_view webui_page();

}  // namespace hotrod::server
