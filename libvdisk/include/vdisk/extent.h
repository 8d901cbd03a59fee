// Extents: how a virtual disk or a file says which byte ranges hold data.
#ifndef VDISK_EXTENT_H_
#define VDISK_EXTENT_H_

#include <cstdint>
#include <string_view>
#include <vector>

namespace vdisk {

enum class ExtentKind : std::uint8_t {
  data,         // bytes must be read; they may still turn out to be zero
  zero,         // stored as "reads as zero" (VMDK zeroed grain, VHD bitmap bit clear)
  unallocated,  // not stored at all (file hole, VHD BAT entry unused); reads as zero
};

std::string_view extent_kind_name(ExtentKind kind) noexcept;

// A run [offset, offset + length) of one kind. Lengths are never zero.
struct Extent {
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
  ExtentKind kind = ExtentKind::data;

  std::uint64_t end() const { return offset + length; }
  bool reads_as_zero() const { return kind != ExtentKind::data; }
  friend bool operator==(const Extent&, const Extent&) = default;
};

// Appends `e` to `out`, merging it into the last extent when they touch and have the same kind.
// Extents with length 0 are dropped. `e` must start at or after the last extent's end.
void append_extent(std::vector<Extent>& out, Extent e);

}  // namespace vdisk

#endif  // VDISK_EXTENT_H_
