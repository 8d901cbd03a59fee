// Test builders for VMDK images qemu-img cannot make: VMware's stream layout (GD_AT_END, GT/GD
// markers, footer, EOS), grains out of LBA order, raw-deflate grains, zeroed-grain GTEs, and a
// plain monolithicSparse writer whose bytes tests can then damage on purpose.
#ifndef VDISK_TESTS_VMDK_VMDK_BUILDER_H_
#define VDISK_TESTS_VMDK_VMDK_BUILDER_H_

#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

namespace vdisk::vmdk::test {

// A descriptor as VMware writes it for a single-extent disk.
std::string make_descriptor(const std::string& create_type, std::uint64_t sectors,
                            const std::string& extent_type, const std::string& file,
                            std::uint32_t cid = 0x12345678, std::uint32_t parent_cid = 0xffffffff,
                            const std::string& parent_hint = "");

struct SparseBuild {
  std::vector<std::byte> content;  // the virtual disk; size a multiple of 512
  std::uint64_t grain_sectors = 128;
  std::uint32_t gtes_per_gt = 512;
  std::set<std::uint64_t> zeroed;  // grains stored as GTE 1 (sets flag bit 2, version 2)
  std::string descriptor;          // embedded descriptor; empty = make_descriptor(...)
};
// monolithicSparse: header, descriptor at sector 1 (20 sectors), GD at 21, all GTs, grains.
// All-zero grains are left unallocated (GTE 0).
std::vector<std::byte> build_sparse(const SparseBuild& b);

struct StreamBuild {
  std::vector<std::byte> content;
  std::uint64_t grain_sectors = 128;
  bool vmware_layout = true;  // GD_AT_END + GT/GD markers + footer + EOS; else GD in front
  bool reverse_grains = false;
  bool raw_deflate = false;  // RFC 1951 without the zlib wrapper
  std::string descriptor;
  // When non-zero: the last grain is compressed as this many bytes, its disk bytes followed by
  // `last_grain_fill` (VMware compresses a partial last grain as a whole zero-padded grain).
  std::size_t last_grain_bytes = 0;
  std::byte last_grain_fill{0};
};
std::vector<std::byte> build_stream(const StreamBuild& b);

// COWD (VMFSSPARSE redo log): 2048-byte header, GD at sector 4, 4096-entry GTs, then grains.
// All-zero grains are left unallocated (GTE 0, read from the parent).
struct CowdBuild {
  std::vector<std::byte> content;  // size a multiple of 512
  std::uint32_t grain_sectors = 1;
  std::set<std::uint64_t> skip;  // grains left unallocated even if not zero
  bool reverse_grains = false;   // store grains in descending order
};
std::vector<std::byte> build_cowd(const CowdBuild& b);

// SESPARSE: const header at 0, volatile header at 1, GD at 4, one 64-sector GT per 16 MiB,
// then 4 KiB grains (cluster k at grains_offset + 8k, stored in reverse order of the disk).
struct SeSparseBuild {
  std::vector<std::byte> content;    // size a multiple of 512
  std::set<std::uint64_t> skip;      // grains left unallocated (type 0: read from the parent)
  std::set<std::uint64_t> zero;      // grains stored as type 2 (zero grain)
  std::set<std::uint64_t> unmapped;  // grains stored as type 1 (SCSI unmapped)
  bool dirty = false;                // volatile header asks for a journal replay
};
std::vector<std::byte> build_sesparse(const SeSparseBuild& b);

// Offsets in the built images, for damaging them.
inline constexpr std::uint64_t kBuiltGdSector = 21;

}  // namespace vdisk::vmdk::test

#endif  // VDISK_TESTS_VMDK_VMDK_BUILDER_H_
