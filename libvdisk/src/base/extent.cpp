#include "vdisk/extent.h"

namespace vdisk {

std::string_view extent_kind_name(ExtentKind kind) noexcept {
  switch (kind) {
    case ExtentKind::data:
      return "data";
    case ExtentKind::zero:
      return "zero";
    case ExtentKind::unallocated:
      return "unallocated";
  }
  return "unknown";
}

void append_extent(std::vector<Extent>& out, Extent e) {
  if (e.length == 0) return;
  if (!out.empty() && out.back().kind == e.kind && out.back().end() == e.offset) {
    out.back().length += e.length;
    return;
  }
  out.push_back(e);
}

}  // namespace vdisk
