// Helpers shared by the VHDX unit tests.
#ifndef VDISK_TESTS_VHDX_VHDX_TEST_UTIL_H_
#define VDISK_TESTS_VHDX_VHDX_TEST_UTIL_H_

#include <catch2/catch.hpp>

#include <memory>
#include <vector>

#include "vdisk/image.h"
#include "vhdx_builder.h"

namespace vdisk::test {

using Bytes = std::vector<std::byte>;

inline Bytes read_all(const BlockSource& s) {
  Bytes out(static_cast<std::size_t>(s.size()));
  REQUIRE(s.read(0, out).ok());
  return out;
}

inline std::vector<Extent> map_all(const BlockSource& s) {
  std::vector<Extent> out;
  REQUIRE(s.map(0, s.size(), out).ok());
  return out;
}

inline Result<std::unique_ptr<BlockSource>> try_open(const Bytes& b, OpenOptions o = {}) {
  return open_image(memory_file(b, "<test.vhdx>"), {}, o);
}

inline std::unique_ptr<BlockSource> open_bytes(const Bytes& b, OpenOptions o = {}) {
  auto r = try_open(b, std::move(o));
  INFO(r.status().to_string());
  REQUIRE(r.ok());
  return std::move(*r);
}

// The disk a builder's image should read as: `blocks` (block index -> data) over zeros.
inline Bytes expected_disk(std::uint64_t size, std::uint64_t block_size,
                           const std::vector<std::pair<std::uint64_t, Bytes>>& blocks) {
  Bytes out(static_cast<std::size_t>(size));
  for (const auto& [b, data] : blocks) {
    const std::uint64_t at = b * block_size;
    const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(data.size(), size - at));
    std::copy_n(data.begin(), n, out.begin() + static_cast<std::ptrdiff_t>(at));
  }
  return out;
}

inline void put64(Bytes& img, std::uint64_t at, std::uint64_t v) {
  for (unsigned i = 0; i < 8; ++i)
    img[at + i] = std::byte{static_cast<unsigned char>(v >> (8 * i))};
}
inline void put32(Bytes& img, std::uint64_t at, std::uint32_t v) {
  for (unsigned i = 0; i < 4; ++i)
    img[at + i] = std::byte{static_cast<unsigned char>(v >> (8 * i))};
}

}  // namespace vdisk::test

#endif  // VDISK_TESTS_VHDX_VHDX_TEST_UTIL_H_
