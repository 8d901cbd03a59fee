// Walking a source's extent map window by window (contract/target_driver.h).
#include <fmt/format.h>

#include "contract/target_driver.h"

namespace vdisk::detail {

Status walk_data(const BlockSource& disk, std::uint64_t map_window_bytes,
                 const std::function<void(std::uint64_t offset, std::uint64_t length)>& fn) {
  const std::uint64_t window = map_window_bytes == 0 ? (1ull << 30) : map_window_bytes;
  const std::uint64_t size = disk.size();
  std::vector<Extent> extents;
  for (std::uint64_t win = 0; win < size;) {
    const std::uint64_t len = std::min(window, size - win);
    extents.clear();
    VDISK_RETURN_IF_ERROR(disk.map(win, len, extents));
    std::uint64_t at = win;
    for (const Extent& e : extents) {
      if (e.offset != at || e.length == 0 || e.length > win + len - at)
        return internal_error(fmt::format("{}: map of [{}, +{}) is not contiguous at {}",
                                          disk.format(), win, len, at));
      if (e.kind == ExtentKind::data) fn(e.offset, e.length);
      at = e.end();
    }
    if (at != win + len)
      return internal_error(
          fmt::format("{}: map of [{}, +{}) ends at {}", disk.format(), win, len, at));
    win += len;
  }
  return {};
}

Result<std::uint64_t> mapped_data_bytes(const BlockSource& disk, std::uint64_t map_window_bytes) {
  std::uint64_t total = 0;
  VDISK_RETURN_IF_ERROR(
      walk_data(disk, map_window_bytes, [&](std::uint64_t, std::uint64_t n) { total += n; }));
  return total;
}

}  // namespace vdisk::detail
