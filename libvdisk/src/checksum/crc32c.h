// CRC-32C (Castagnoli: reflected polynomial 0x82F63B78, initial value and final XOR 0xFFFFFFFF),
// the checksum Google Cloud Storage keeps for every object (Cloud Storage documentation, "Hashes
// and ETags"; docs/cloud.md, "GCP image tarballs" rule 6). Uses the SSE4.2
// crc32 instruction where the CPU has it (checked at run time), else slicing-by-8 tables.
#ifndef VDISK_CHECKSUM_CRC32C_H_
#define VDISK_CHECKSUM_CRC32C_H_

#include <cstddef>
#include <cstdint>
#include <span>

namespace vdisk::checksum {

// Extends `crc` (the CRC-32C of the bytes so far; 0 for none) over `data`.
std::uint32_t crc32c(std::uint32_t crc, std::span<const std::byte> data);

// The same computed with the portable tables only (tests compare both paths).
std::uint32_t crc32c_portable(std::uint32_t crc, std::span<const std::byte> data);

// Extends `crc` over `n` zero bytes, in O(log n) time.
std::uint32_t crc32c_zeros(std::uint32_t crc, std::uint64_t n);

// Incremental form.
class Crc32c {
 public:
  void update(std::span<const std::byte> data) { crc_ = crc32c(crc_, data); }
  void update_zeros(std::uint64_t n) { crc_ = crc32c_zeros(crc_, n); }
  std::uint32_t value() const { return crc_; }

 private:
  std::uint32_t crc_ = 0;
};

}  // namespace vdisk::checksum

#endif  // VDISK_CHECKSUM_CRC32C_H_
