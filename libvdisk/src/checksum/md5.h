// MD5 (RFC 1321), incremental. Only for the Content-MD5 that Azure Blob storage records for an
// uploaded file (the x-ms-blob-content-md5 property: Azure Storage REST API, Set Blob Properties;
// `--put-md5` in docs/cloud.md); not a security primitive.
#ifndef VDISK_CHECKSUM_MD5_H_
#define VDISK_CHECKSUM_MD5_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "checksum/block_buffer.h"

namespace vdisk::checksum {

class Md5 {
 public:
  Md5();
  void update(std::span<const std::byte> data);
  void update_zeros(std::uint64_t n);
  // The digest; the object must not be updated afterwards.
  std::array<std::uint8_t, 16> finish();

 private:
  void blocks(const std::uint8_t* p, std::size_t n);
  std::array<std::uint32_t, 4> h_;
  BlockBuffer buffer_;
};

}  // namespace vdisk::checksum

#endif  // VDISK_CHECKSUM_MD5_H_
