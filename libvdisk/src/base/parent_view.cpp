// Reading and mapping through a parent (see parent_view.h).
#include "base/parent_view.h"

#include <algorithm>
#include <cstring>

namespace vdisk::detail {
namespace {

// How many of `length` bytes at `offset` the parent holds.
std::uint64_t in_parent(const BlockSource* parent, std::uint64_t offset, std::uint64_t length) {
  if (!parent || offset >= parent->size()) return 0;
  return std::min<std::uint64_t>(length, parent->size() - offset);
}

}  // namespace

Status read_from_parent(const BlockSource* parent, std::uint64_t offset, std::span<std::byte> dst) {
  const auto n = static_cast<std::size_t>(in_parent(parent, offset, dst.size()));
  if (n > 0) VDISK_RETURN_IF_ERROR(parent->read(offset, dst.first(n)));
  std::memset(dst.data() + n, 0, dst.size() - n);
  return {};
}

Status map_from_parent(const BlockSource* parent, std::uint64_t offset, std::uint64_t length,
                       ExtentKind past_end, std::vector<Extent>& out) {
  const std::uint64_t n = in_parent(parent, offset, length);
  if (n > 0) {
    std::vector<Extent> sub;
    VDISK_RETURN_IF_ERROR(parent->map(offset, n, sub));
    for (const Extent& e : sub) append_extent(out, e);
  }
  if (length > n) append_extent(out, {offset + n, length - n, past_end});
  return {};
}

}  // namespace vdisk::detail
