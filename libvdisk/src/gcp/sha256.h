// SHA-256 (FIPS 180-4), incremental. Used for the disk-content hash that `check --for gcp`
// reports, so it can be compared with `sha256sum` of the source disk.
#ifndef VDISK_GCP_SHA256_H_
#define VDISK_GCP_SHA256_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "checksum/block_buffer.h"

namespace vdisk::gcp {

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
  checksum::BlockBuffer buffer_;
};

}  // namespace vdisk::gcp

#endif  // VDISK_GCP_SHA256_H_
