// CRC-32C. The table path is the classic reflected slicing-by-8; the hardware path feeds 8 bytes
// at a time to the SSE4.2 crc32 instruction (which computes exactly this CRC, without the
// initial/final inversion that this file adds). Zero runs use the GF(2) operator "append one
// zero bit" squared repeatedly, so a GiB of zeros costs ~30 small matrix products.
#include "checksum/crc32c.h"

#include <array>
#include <cstring>

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

namespace vdisk::checksum {
namespace {

constexpr std::uint32_t kPoly = 0x82F63B78u;

struct Tables {
  std::uint32_t t[8][256];
  Tables() {
    for (std::uint32_t i = 0; i < 256; ++i) {
      std::uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ kPoly : c >> 1;
      t[0][i] = c;
    }
    for (std::uint32_t i = 0; i < 256; ++i)
      for (int s = 1; s < 8; ++s) t[s][i] = (t[s - 1][i] >> 8) ^ t[0][t[s - 1][i] & 0xFF];
  }
};
const Tables& tables() {
  static const Tables t;
  return t;
}

// Raw (no inversion) CRC update, portable.
std::uint32_t update_sw(std::uint32_t c, const std::uint8_t* p, std::size_t n) {
  const auto& t = tables().t;
  while (n >= 8) {
    std::uint32_t lo, hi;
    std::memcpy(&lo, p, 4);
    std::memcpy(&hi, p + 4, 4);
    lo ^= c;  // little-endian hosts only (x86-64, aarch64)
    c = t[7][lo & 0xFF] ^ t[6][(lo >> 8) & 0xFF] ^ t[5][(lo >> 16) & 0xFF] ^ t[4][lo >> 24] ^
        t[3][hi & 0xFF] ^ t[2][(hi >> 8) & 0xFF] ^ t[1][(hi >> 16) & 0xFF] ^ t[0][hi >> 24];
    p += 8;
    n -= 8;
  }
  while (n-- > 0) c = (c >> 8) ^ t[0][(c ^ *p++) & 0xFF];
  return c;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) std::uint32_t update_hw(std::uint32_t c, const std::uint8_t* p,
                                                          std::size_t n) {
  std::uint64_t c64 = c;
  while (n >= 8) {
    std::uint64_t v;
    std::memcpy(&v, p, 8);
    c64 = _mm_crc32_u64(c64, v);
    p += 8;
    n -= 8;
  }
  auto c32 = static_cast<std::uint32_t>(c64);
  while (n-- > 0) c32 = _mm_crc32_u8(c32, *p++);
  return c32;
}
bool have_hw() {
  static const bool yes = __builtin_cpu_supports("sse4.2");
  return yes;
}
#endif

// GF(2) 32x32 matrices as 32 column vectors: the linear map a raw CRC state undergoes.
using Matrix = std::array<std::uint32_t, 32>;

std::uint32_t times(const Matrix& m, std::uint32_t v) {
  std::uint32_t r = 0;
  for (int i = 0; v != 0; ++i, v >>= 1)
    if (v & 1) r ^= m[static_cast<std::size_t>(i)];
  return r;
}
Matrix square(const Matrix& m) {
  Matrix r{};
  for (std::size_t i = 0; i < 32; ++i) r[i] = times(m, m[i]);
  return r;
}

}  // namespace

std::uint32_t crc32c(std::uint32_t crc, std::span<const std::byte> data) {
  const auto* p = reinterpret_cast<const std::uint8_t*>(data.data());
  std::uint32_t c = ~crc;
#if defined(__x86_64__)
  if (have_hw()) return ~update_hw(c, p, data.size());
#endif
  return ~update_sw(c, p, data.size());
}

std::uint32_t crc32c_portable(std::uint32_t crc, std::span<const std::byte> data) {
  return ~update_sw(~crc, reinterpret_cast<const std::uint8_t*>(data.data()), data.size());
}

std::uint32_t crc32c_zeros(std::uint32_t crc, std::uint64_t n) {
  if (n == 0) return crc;
  // One zero bit: state -> (state >> 1) ^ (state & 1 ? poly : 0).
  Matrix op{};
  op[0] = kPoly;
  for (std::size_t i = 1; i < 32; ++i) op[i] = 1u << (i - 1);
  for (int i = 0; i < 3; ++i) op = square(op);  // one zero byte = 8 bits
  std::uint32_t c = ~crc;
  while (n != 0) {
    if (n & 1) c = times(op, c);
    n >>= 1;
    if (n != 0) op = square(op);
  }
  return ~c;
}

}  // namespace vdisk::checksum
