// SHA-1 (FIPS 180-4 section 6.1), incremental. Only for verifying OVF manifests, which name
// SHA1 digests (OVF 1.x, VirtualBox, old ovftool); never for anything new.
#ifndef VDISK_CHECKSUM_SHA1_H_
#define VDISK_CHECKSUM_SHA1_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "checksum/block_buffer.h"

namespace vdisk::checksum {

class Sha1 {
 public:
  Sha1();
  void update(std::span<const std::byte> data);
  // The digest; the object must not be updated afterwards.
  std::array<std::uint8_t, 20> finish();
  // Lowercase hex of finish().
  std::string hex();

 private:
  void blocks(const std::uint8_t* p, std::size_t n);
  std::array<std::uint32_t, 5> h_;
  BlockBuffer buffer_;
};

}  // namespace vdisk::checksum

#endif  // VDISK_CHECKSUM_SHA1_H_
