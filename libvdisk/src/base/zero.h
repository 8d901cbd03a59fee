// Zero detection for buffers.
#ifndef VDISK_UTIL_ZERO_H_
#define VDISK_UTIL_ZERO_H_

#include <cstddef>
#include <span>

namespace vdisk::detail {

// True when every byte of `data` is zero.
bool is_zero(std::span<const std::byte> data);

// A shared, read-only buffer of zeros of at least `n` bytes (n <= kZeroBufferBytes).
inline constexpr std::size_t kZeroBufferBytes = 1u << 20;
std::span<const std::byte> zero_buffer(std::size_t n = kZeroBufferBytes);

}  // namespace vdisk::detail

#endif  // VDISK_UTIL_ZERO_H_
