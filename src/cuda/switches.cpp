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

long switch_int(const char* name, long lo, long hi, long fallback) {
    const char* v = std::getenv(name);
    if (v == nullptr || !((*v >= '0' && *v <= '9') || *v == '-')) return fallback;  // strtol would skip spaces
    char* end = nullptr;
    const long n = std::strtol(v, &end, 10);
    return *end == '\0' && n >= lo && n <= hi ? n : fallback;
}

}  // namespace hotrod::cuda
