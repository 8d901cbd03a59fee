// A small VHDX writer for tests: builds well-formed images (fixed, dynamic or differencing,
// any block and sector size, pending log entries) and exposes where every structure lies so
// hostile cases can break one field at a time.
//
// Layout: header section (1 MiB), log at 1 MiB (1 MiB), BAT at 2 MiB, metadata at 3 MiB (one
// MiB each unless the BAT needs more), then payload and sector bitmap blocks in the order they
// were added, each 1 MiB-aligned.
#ifndef VDISK_TESTS_VHDX_VHDX_BUILDER_H_
#define VDISK_TESTS_VHDX_VHDX_BUILDER_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace vdisk::test {

using Guid16 = std::array<std::uint8_t, 16>;

struct VhdxSpec {
  std::uint64_t virtual_size = 8u << 20;
  std::uint32_t block_size = 1u << 20;
  std::uint32_t logical_sector = 512;
  std::uint32_t physical_sector = 4096;
  bool leave_allocated = false;
  bool has_parent = false;
  bool required_regions = true;  // Hyper-V sets Required on BAT and metadata; qemu does not
  // Parent locator key/value pairs (written when has_parent).
  std::vector<std::pair<std::string, std::string>> locator;
  Guid16 data_write{0x11, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
  Guid16 file_write{0x22, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
  Guid16 page83{0x33, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
  std::uint64_t sequence = 1000;  // header 1; header 2 (current) has sequence + 1
};

// Pending log updates: bytes() writes the image as it is after them, then moves the listed
// 4 KiB sectors into log data descriptors (leaving `stale` bytes in the file) and the zero
// ranges into zero descriptors (leaving stale bytes there too), split into `entries` entries.
struct VhdxLog {
  std::vector<std::uint64_t> sectors;                          // file offsets, 4 KiB-aligned
  std::vector<std::pair<std::uint64_t, std::uint64_t>> zeros;  // (offset, length), 4 KiB units
  unsigned entries = 1;
  std::uint64_t start = 0;  // log position of the first entry (wraps at the end of the log)
  std::uint64_t first_sequence = 77;
  std::uint8_t stale = 0xA5;
  std::optional<std::uint32_t> tail;     // every entry's Tail (default: `start`)
  std::optional<std::uint64_t> flushed;  // FlushedFileOffset (default: the file's size)
  Guid16 guid{0x44, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
};

class VhdxBuilder {
 public:
  explicit VhdxBuilder(VhdxSpec spec);

  static constexpr std::uint64_t kMiB = 1u << 20;
  static constexpr std::uint64_t kLogOffset = 1 * kMiB, kLogLength = 1 * kMiB;
  static constexpr std::uint64_t kBatOffset = 2 * kMiB;
  static constexpr std::uint64_t kHeader[2] = {64 * 1024, 128 * 1024};
  static constexpr std::uint64_t kRegionTable[2] = {192 * 1024, 256 * 1024};

  std::uint64_t chunk_ratio() const;
  std::uint64_t payload_blocks() const;
  std::uint64_t bat_entries() const;
  std::uint64_t bat_index(std::uint64_t block) const { return block + block / chunk_ratio(); }
  std::uint64_t bitmap_index(std::uint64_t chunk) const {
    return chunk * (chunk_ratio() + 1) + chunk_ratio();
  }
  std::uint64_t entry_offset(std::uint64_t index) const { return kBatOffset + index * 8; }
  std::uint64_t metadata_offset() const;
  // Offset of a metadata item's bytes (by table order: 0 file parameters, 1 size, 2 page 83,
  // 3 logical, 4 physical, 5 parent locator) and of its table entry.
  std::uint64_t item_offset(unsigned i) const { return metadata_offset() + 65536 + i * 4096; }
  std::uint64_t item_entry_offset(unsigned i) const { return metadata_offset() + 32 + i * 32; }

  // Block `b` FULLY_PRESENT with `data` (padded to the block); returns its file offset.
  std::uint64_t add_block(std::uint64_t b, const std::vector<std::byte>& data);
  // Block `b` PARTIALLY_PRESENT: `data` stored, the sector bitmap bit of logical sector s of
  // the block set when present[s] (creating the chunk's bitmap block).
  std::uint64_t add_partial(std::uint64_t b, const std::vector<std::byte>& data,
                            const std::vector<bool>& present);
  // Raw BAT entry `index`.
  void set_entry(std::uint64_t index, std::uint64_t raw) { bat_[index] = raw; }
  void set_state(std::uint64_t b, std::uint8_t state) { bat_[bat_index(b)] = state; }
  void set_log(VhdxLog log) {
    log_ = std::move(log);
    has_log_ = true;
  }

  std::vector<std::byte> bytes() const;

  // Recompute the CRC-32C of header `which` / region table `which` after a test edited it.
  static void fix_header_crc(std::vector<std::byte>& img, int which);
  static void fix_region_crc(std::vector<std::byte>& img, int which);

 private:
  std::uint64_t allocate(std::uint64_t bytes);
  void write_log(std::vector<std::byte>& img) const;

  VhdxSpec spec_;
  std::map<std::uint64_t, std::uint64_t> bat_;                           // index -> raw entry
  std::vector<std::pair<std::uint64_t, std::vector<std::byte>>> blobs_;  // offset, bytes
  std::map<std::uint64_t, std::uint64_t> bitmaps_;                       // chunk -> offset
  std::uint64_t next_ = 0;
  VhdxLog log_;
  bool has_log_ = false;
};

}  // namespace vdisk::test

#endif  // VDISK_TESTS_VHDX_VHDX_BUILDER_H_
