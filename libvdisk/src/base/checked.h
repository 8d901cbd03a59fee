// Overflow-checked arithmetic and alignment for sizes and offsets taken from images.
#ifndef VDISK_UTIL_CHECKED_H_
#define VDISK_UTIL_CHECKED_H_

#include <cstdint>
#include <optional>

namespace vdisk::detail {

inline std::optional<std::uint64_t> checked_add(std::uint64_t a, std::uint64_t b) {
  std::uint64_t r;
  if (__builtin_add_overflow(a, b, &r)) return std::nullopt;
  return r;
}
inline std::optional<std::uint64_t> checked_mul(std::uint64_t a, std::uint64_t b) {
  std::uint64_t r;
  if (__builtin_mul_overflow(a, b, &r)) return std::nullopt;
  return r;
}
// Rounds `v` up to a multiple of `align` (> 0); nullopt on overflow.
inline std::optional<std::uint64_t> round_up(std::uint64_t v, std::uint64_t align) {
  const std::uint64_t rem = v % align;
  if (rem == 0) return v;
  return checked_add(v, align - rem);
}
inline std::uint64_t div_ceil(std::uint64_t v, std::uint64_t d) { return v / d + (v % d != 0); }
// True when [offset, offset + length) lies inside [0, size).
inline bool range_inside(std::uint64_t offset, std::uint64_t length, std::uint64_t size) {
  return offset <= size && length <= size - offset;
}
inline bool is_power_of_two(std::uint64_t v) { return v != 0 && (v & (v - 1)) == 0; }

inline constexpr std::uint64_t kSectorSize = 512;
inline constexpr std::uint64_t kKiB = 1024;
inline constexpr std::uint64_t kMiB = 1024 * kKiB;
inline constexpr std::uint64_t kGiB = 1024 * kMiB;
inline constexpr std::uint64_t kTiB = 1024 * kGiB;

}  // namespace vdisk::detail

#endif  // VDISK_UTIL_CHECKED_H_
