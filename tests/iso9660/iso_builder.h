// A tiny ISO 9660 image builder for hostile and edge-case tests: it writes exactly the records
// it is told to, including broken ones (loops, bad continuation areas, short records).
#ifndef VDISK_TESTS_ISO9660_ISO_BUILDER_H_
#define VDISK_TESTS_ISO9660_ISO_BUILDER_H_

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

namespace vdisk::test::iso {

using Bytes = std::vector<std::byte>;

inline constexpr std::uint32_t kBlock = 2048;
inline constexpr std::uint8_t kDir = 0x02, kMulti = 0x80, kHidden = 0x01, kAssoc = 0x04;

// A directory record; `id` is the raw identifier ("\0" for ".", "\1" for "..").
Bytes record(std::string_view id, std::uint32_t extent, std::uint32_t length, std::uint8_t flags,
             std::span<const std::byte> su = {});
Bytes dot(std::uint32_t extent, std::uint32_t length, std::span<const std::byte> su = {});
Bytes dotdot(std::uint32_t extent, std::uint32_t length);

// SUSP / Rock Ridge entries.
Bytes sp();
Bytes er_rrip();
Bytes nm(std::string_view name, std::uint8_t flags = 0);
Bytes px(std::uint32_t mode, std::uint32_t uid = 0, std::uint32_t gid = 0);
Bytes sl(std::span<const std::pair<std::uint8_t, std::string_view>> components);
Bytes ce(std::uint32_t block, std::uint32_t offset, std::uint32_t length);
Bytes cl(std::uint32_t block);
Bytes pl(std::uint32_t block);
Bytes re();
Bytes cat(std::initializer_list<Bytes> parts);

class Builder {
 public:
  // An image of `blocks` 2048-byte blocks with a PVD at 16 and a terminator at 17.
  explicit Builder(std::uint32_t blocks);
  // Root directory record in the PVD.
  void root(std::uint32_t extent, std::uint32_t length);
  // Writes records one after another from block `block`, moving to the next sector when one
  // does not fit (as ISO 9660 requires); returns the number of bytes used (sector multiple).
  std::uint32_t directory(std::uint32_t block, std::initializer_list<Bytes> records);
  void put(std::uint64_t offset, std::span<const std::byte> bytes);
  Bytes& image() { return img_; }

 private:
  Bytes img_;
};

}  // namespace vdisk::test::iso

#endif  // VDISK_TESTS_ISO9660_ISO_BUILDER_H_
