// SHA-256 (FIPS 180-4), incremental. Used for the disk-content hash that `check --for gcp`
// reports and for the disk/artifact hashes of --checksums, so they can be compared with
// `sha256sum`.
#ifndef VDISK_CHECKSUM_SHA256_H_
#define VDISK_CHECKSUM_SHA256_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "checksum/block_buffer.h"

namespace vdisk::checksum {

class Sha256 {
 public:
  Sha256();
  void update(std::span<const std::byte> data);
  // Appends `n` zero bytes.
  void update_zeros(std::uint64_t n);
  // The digest; the object must not be updated afterwards.
  std::array<std::uint8_t, 32> finish();
  // Lowercase hex of finish().
  std::string hex();

 private:
  void blocks(const std::uint8_t* p, std::size_t n);
  std::array<std::uint32_t, 8> h_;
  BlockBuffer buffer_;
};

}  // namespace vdisk::checksum

#endif  // VDISK_CHECKSUM_SHA256_H_
