// Builds GPT disks in memory for the unit tests: protective MBR, primary header and array,
// backup array and header, laid out as sfdisk and parted do.
#ifndef VDISK_TESTS_GPT_GPT_BUILDER_H_
#define VDISK_TESTS_GPT_GPT_BUILDER_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "gpt/gpt_codec.h"

namespace vdisk::test {

struct GptPart {
  std::uint64_t first_lba;
  std::uint64_t last_lba;
  std::uint8_t type = 0x83;  // first byte of the type GUID (any non-zero value marks it used)
};

struct GptSpec {
  std::uint64_t size = 0;  // disk bytes (need not be a multiple of lba_size)
  std::uint64_t lba_size = 512;
  std::uint32_t entry_count = 128;
  std::uint32_t entry_size = 128;
  std::uint64_t first_usable = 2048;  // 0 = right after the primary array
  std::vector<GptPart> parts;
  bool protective_mbr = true;
  bool partition_data = true;  // fill each partition's first sector with a marker
};

std::vector<std::byte> make_gpt_disk(const GptSpec& spec);

// Re-encodes the header at `lba` of `disk` after `edit` changed its fields (CRC recomputed).
template <class Edit>
void edit_header(std::vector<std::byte>& disk, std::uint64_t lba, std::uint64_t lba_size,
                 Edit edit) {
  std::span<std::byte> sector(disk.data() + lba * lba_size, lba_size);
  auto h = gpt::decode_header(sector, lba, lba_size, disk.size() / lba_size);
  if (!h.ok()) throw std::runtime_error(std::string(h.status().message()));
  gpt::Header v = *h;
  edit(v);
  gpt::encode_header(v, sector);
}

}  // namespace vdisk::test

#endif  // VDISK_TESTS_GPT_GPT_BUILDER_H_
