// Builds dynamic and differencing VHD images in memory for the tests, block by block and
// sector bitmap by sector bitmap, and computes the virtual disk they should read as.
#ifndef VDISK_TESTS_VHD_VHD_BUILDER_H_
#define VDISK_TESTS_VHD_VHD_BUILDER_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "formats/vhd/vhd_dynamic_header.h"
#include "formats/vhd/vhd_footer.h"

namespace vdisk::test {

struct VhdBlockSpec {
  std::uint32_t index = 0;
  std::vector<std::byte> data;  // block_size bytes (shorter is zero-padded)
  std::vector<bool> present;    // one flag per sector; empty = every sector present
};

struct DynamicVhdSpec {
  std::uint64_t size = 0;
  std::uint32_t block_size = 4096;
  bool differencing = false;
  std::array<std::uint8_t, 16> unique_id{0xd1, 0, 0, 0, 0, 0, 0x40, 0, 0x80, 0, 0, 0, 0, 0, 0, 1};
  std::array<std::uint8_t, 16> parent_id{};
  std::string parent_relative;  // W2ru locator text ("" = none)
  std::string parent_absolute;  // W2ku locator text ("" = none)
  std::string parent_unicode;   // parent Unicode name ("" = none)
  std::vector<VhdBlockSpec> blocks;
  std::optional<std::uint32_t> max_table_entries;  // default ceil(size / block_size)
  std::uint32_t timestamp = 0x2CB41780;
};

struct BuiltVhd {
  std::vector<std::byte> bytes;
  std::uint64_t header_offset = 512;
  std::uint64_t table_offset = 0;
  std::uint32_t bitmap_bytes = 0;
  std::vector<std::uint64_t> block_offsets;  // file offset of each spec block's bitmap
};

BuiltVhd build_dynamic_vhd(const DynamicVhdSpec& spec);

// Recomputes the checksums of the footer copy at 0, the end footer and the dynamic header at
// `header_offset` after a test edited fields in place.
void reseal_vhd(std::vector<std::byte>& bytes, std::uint64_t header_offset = 512);

// What the disk reads as: present sectors from the spec, everything else from `parent` (zeros
// where `parent` is shorter or absent).
std::vector<std::byte> expected_image(const DynamicVhdSpec& spec,
                                      const std::vector<std::byte>& parent = {});

// A fixed VHD (data + footer) for stream and fixed-reader tests.
std::vector<std::byte> build_fixed_vhd(const std::vector<std::byte>& data,
                                       const std::array<std::uint8_t, 16>& id = {});

}  // namespace vdisk::test

#endif  // VDISK_TESTS_VHD_VHD_BUILDER_H_
