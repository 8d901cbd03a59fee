// SHA-1 after FIPS 180-4 section 6.1.
#include "checksum/sha1.h"

#include <fmt/format.h>

namespace vdisk::checksum {
namespace {

inline std::uint32_t rotl(std::uint32_t x, int n) { return (x << n) | (x >> (32 - n)); }

void block(std::array<std::uint32_t, 5>& h, const std::uint8_t* p) {
  std::uint32_t w[80];
  for (int i = 0; i < 16; ++i)
    w[i] = (std::uint32_t{p[4 * i]} << 24) | (std::uint32_t{p[4 * i + 1]} << 16) |
           (std::uint32_t{p[4 * i + 2]} << 8) | std::uint32_t{p[4 * i + 3]};
  for (int i = 16; i < 80; ++i) w[i] = rotl(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
  std::uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
  for (int i = 0; i < 80; ++i) {
    std::uint32_t f = 0, k = 0;
    if (i < 20) {
      f = (b & c) | (~b & d);
      k = 0x5a827999;
    } else if (i < 40) {
      f = b ^ c ^ d;
      k = 0x6ed9eba1;
    } else if (i < 60) {
      f = (b & c) | (b & d) | (c & d);
      k = 0x8f1bbcdc;
    } else {
      f = b ^ c ^ d;
      k = 0xca62c1d6;
    }
    const std::uint32_t t = rotl(a, 5) + f + e + k + w[i];
    e = d;
    d = c;
    c = rotl(b, 30);
    b = a;
    a = t;
  }
  h[0] += a;
  h[1] += b;
  h[2] += c;
  h[3] += d;
  h[4] += e;
}

}  // namespace

Sha1::Sha1() : h_{0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0} {}

void Sha1::blocks(const std::uint8_t* p, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) block(h_, p + 64 * i);
}

void Sha1::update(std::span<const std::byte> data) {
  buffer_.update(data, [this](const std::uint8_t* p, std::size_t n) { blocks(p, n); });
}

std::array<std::uint8_t, 20> Sha1::finish() {
  buffer_.pad(true, [this](const std::uint8_t* p, std::size_t n) { blocks(p, n); });
  std::array<std::uint8_t, 20> out{};
  for (std::size_t i = 0; i < 5; ++i)
    for (std::size_t j = 0; j < 4; ++j)
      out[4 * i + j] = static_cast<std::uint8_t>(h_[i] >> (24 - 8 * j));
  return out;
}

std::string Sha1::hex() {
  std::string s;
  for (std::uint8_t b : finish()) s += fmt::format("{:02x}", b);
  return s;
}

}  // namespace vdisk::checksum
