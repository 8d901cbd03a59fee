// Integrity digests computed while a conversion writes (ConvertOptions::checksums), with no
// second read: the written artifact is hashed in a ByteSink wrapper, the virtual disk either as
// a prefix of the artifact (raw, fixed VHD: everything but the footer) or from the pipeline's
// ordered writer (PipelineOptions::tap) when the artifact is compressed (gcp).
#ifndef VDISK_CHECKSUM_CHECKSUM_SINKS_H_
#define VDISK_CHECKSUM_CHECKSUM_SINKS_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "checksum/crc32c.h"
#include "checksum/md5.h"
#include "checksum/sha256.h"
#include "vdisk/block.h"
#include "vdisk/io.h"

namespace vdisk::checksum {

std::string to_hex(std::span<const std::uint8_t> bytes);
// RFC 4648 base64 with padding.
std::string to_base64(std::span<const std::uint8_t> bytes);

struct ArtifactDigests {
  bool done = false;
  std::uint64_t bytes = 0;
  std::string sha256;  // hex
  std::string md5;     // hex
  std::string md5_base64;
  std::uint32_t crc32c = 0;
  std::string crc32c_base64;  // of the big-endian value, as GCS reports it
  std::uint64_t prefix_bytes = 0;
  std::string prefix_sha256;  // everything but the last `trailer_bytes` bytes
};

// Wraps `out`: every byte written (zero runs included) goes into SHA-256, MD5 and CRC-32C.
// With trailer_bytes > 0, the SHA-256 of everything but the last trailer_bytes bytes is kept
// too, at no extra hashing cost (the last bytes are held back until finish()). finish() fills
// `*digests` and then finishes `out`.
std::unique_ptr<ByteSink> hashing_sink(std::unique_ptr<ByteSink> out, std::size_t trailer_bytes,
                                       std::shared_ptr<ArtifactDigests> digests);

// A BlockSink that hashes the virtual disk it is shown (used as the pipeline's tap).
class DiskHasher final : public BlockSink {
 public:
  Status write(std::uint64_t offset, std::span<const std::byte> data) override;
  Status write_zeroes(std::uint64_t offset, std::uint64_t length) override;
  Status finish() override { return {}; }
  // Hex SHA-256 of the bytes seen, extended with zeros up to `total` bytes (a sink that pads in
  // its own finish()).
  std::string hex(std::uint64_t total);
  std::uint64_t bytes() const { return next_; }

 private:
  Status admit(std::uint64_t offset, std::uint64_t length);
  Sha256 sha_;
  std::uint64_t next_ = 0;
};

}  // namespace vdisk::checksum

#endif  // VDISK_CHECKSUM_CHECKSUM_SINKS_H_
