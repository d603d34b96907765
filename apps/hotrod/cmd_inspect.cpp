// `hotrod inspect MODEL.gguf` (placeholder until the GGUF reader lands).
#include <cstdio>

#include "commands.h"

namespace hotrod::app {

int cmd_inspect(int, char**) {
    std::fprintf(stderr, "hotrod inspect: not implemented yet\n");
    return 1;
}

}  // namespace hotrod::app
