// The 64-byte block buffering and Merkle-Damgard padding shared by MD5 and SHA-256.
#ifndef VDISK_CHECKSUM_BLOCK_BUFFER_H_
#define VDISK_CHECKSUM_BLOCK_BUFFER_H_

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

#include "base/zero.h"

namespace vdisk::checksum {

// Feeds whole 64-byte blocks to `blocks(const uint8_t* p, size_t count)`, keeping the tail.
class BlockBuffer {
 public:
  template <class Blocks>
  void update(std::span<const std::byte> data, Blocks&& blocks) {
    const auto* p = reinterpret_cast<const std::uint8_t*>(data.data());
    std::size_t n = data.size();
    bytes_ += n;
    if (used_ > 0) {
      const std::size_t take = std::min(n, 64 - used_);
      std::memcpy(buf_.data() + used_, p, take);
      used_ += take;
      p += take;
      n -= take;
      if (used_ < 64) return;
      blocks(buf_.data(), 1);
      used_ = 0;
    }
    blocks(p, n / 64);
    p += n / 64 * 64;
    n %= 64;
    if (n != 0) std::memcpy(buf_.data(), p, n);  // p may be null when n is 0
    used_ = n;
  }

  template <class Blocks>
  void update_zeros(std::uint64_t n, Blocks&& blocks) {
    while (n > 0) {
      const auto k = static_cast<std::size_t>(std::min<std::uint64_t>(n, detail::kZeroBufferBytes));
      update(detail::zero_buffer(k), blocks);
      n -= k;
    }
  }

  // Appends 0x80, zeros and the message length in bits (64-bit, big- or little-endian) and
  // feeds the last block(s).
  template <class Blocks>
  void pad(bool big_endian_length, Blocks&& blocks) {
    const std::uint64_t bits = bytes_ * 8;
    buf_[used_++] = 0x80;
    if (used_ > 56) {
      std::memset(buf_.data() + used_, 0, 64 - used_);
      blocks(buf_.data(), 1);
      used_ = 0;
    }
    std::memset(buf_.data() + used_, 0, 56 - used_);
    for (std::size_t i = 0; i < 8; ++i)
      buf_[56 + i] = static_cast<std::uint8_t>(bits >> (big_endian_length ? 56 - 8 * i : 8 * i));
    blocks(buf_.data(), 1);
  }

 private:
  std::array<std::uint8_t, 64> buf_{};
  std::size_t used_ = 0;
  std::uint64_t bytes_ = 0;
};

}  // namespace vdisk::checksum

#endif  // VDISK_CHECKSUM_BLOCK_BUFFER_H_
