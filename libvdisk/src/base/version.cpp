#include "vdisk/version.h"

namespace vdisk {
const char* version() noexcept { return VDISK_VERSION_STRING; }
}  // namespace vdisk
