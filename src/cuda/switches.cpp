#include "cuda/switches.h"

#include <cstdlib>
#include <cstring>

namespace hotrod::cuda {

bool switch_is(const char* name, const char* value) {
    const char* v = std::getenv(name);
    return v != nullptr && std::strcmp(v, value) == 0;
}

bool switch_off(const char* name) {
    return switch_is(name, "0");
}

}  // namespace hotrod::cuda
