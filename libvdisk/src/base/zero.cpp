#include "base/zero.h"

#include <cstdint>
#include <cstring>

namespace vdisk::detail {

bool is_zero(std::span<const std::byte> data) {
  const std::byte* p = data.data();
  std::size_t n = data.size();
  // Check the first bytes byte-wise: a data block usually fails within them, and this handles
  // the unaligned head. Then OR 64-byte blocks of words; the compiler vectorises the inner loop.
  const std::size_t head = n < 16 ? n : 16;
  for (std::size_t i = 0; i < head; ++i)
    if (p[i] != std::byte{0}) return false;
  p += head;
  n -= head;
  while (n >= 64) {
    std::uint64_t w[8];
    std::memcpy(w, p, 64);
    if ((w[0] | w[1] | w[2] | w[3] | w[4] | w[5] | w[6] | w[7]) != 0) return false;
    p += 64;
    n -= 64;
  }
  for (std::size_t i = 0; i < n; ++i)
    if (p[i] != std::byte{0}) return false;
  return true;
}

std::span<const std::byte> zero_buffer(std::size_t n) {
  static const std::byte* const kZeros = new std::byte[kZeroBufferBytes]();  // never freed
  return {kZeros, n < kZeroBufferBytes ? n : kZeroBufferBytes};
}

}  // namespace vdisk::detail
