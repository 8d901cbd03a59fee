// A small VDI 1.1 writer for tests: builds well-formed images block by block, and exposes where
// every structure lies so hostile cases can break one field at a time.
//
// Layout (as qemu writes it): the 0x200-byte header, the block map at 0x200, the data area at
// the map's end rounded up to 512 (or `data_offset`), then block slots in the order they were
// added, each `block_extra` bytes of extra data (0xEE, which a reader must skip) followed by the
// block.
#ifndef VDISK_TESTS_VDI_VDI_BUILDER_H_
#define VDISK_TESTS_VDI_VDI_BUILDER_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace vdisk::test {

struct VdiSpec {
  std::uint32_t type = 1;  // 1 dynamic, 2 static, 3 undo, 4 differencing
  std::uint64_t disk_size = 8 * 4096;
  std::uint32_t block_size = 4096;
  std::uint32_t block_extra = 0;
  std::uint32_t header_size = 0x180;  // 0x190 adds the LCHS geometry
  std::uint32_t data_offset = 0;      // 0: after the map, rounded up to 512
  std::string comment;
  std::uint8_t uuid_seed = 1;  // image UUID bytes seed..seed+15, modify UUID + 0x40
  bool parent_uuids = false;   // set the linkage and parent-modify UUIDs
};

class VdiBuilder {
 public:
  explicit VdiBuilder(VdiSpec spec);

  std::uint32_t blocks() const;
  // Virtual block `bi` stored in the next slot with `data` (padded to a block); returns the
  // slot's data offset in the file. A static image stores every block at construction.
  std::uint64_t add_block(std::uint32_t bi, std::vector<std::byte> data);
  // Sets the raw map entry of block `bi` (0xFFFFFFFE zero, 0xFFFFFFFF free, a slot).
  void set_entry(std::uint32_t bi, std::uint32_t entry) { map_.at(bi) = entry; }

  // The image bytes.
  std::vector<std::byte> bytes() const;

  static constexpr std::uint64_t kMapOffset = 0x200;
  std::uint64_t entry_offset(std::uint32_t bi) const { return kMapOffset + 4 * bi; }
  std::uint64_t data_offset() const;

 private:
  VdiSpec spec_;
  std::vector<std::uint32_t> map_;
  std::vector<std::byte> slots_;  // the data area
  std::uint32_t allocated_ = 0;
};

}  // namespace vdisk::test

#endif  // VDISK_TESTS_VDI_VDI_BUILDER_H_
