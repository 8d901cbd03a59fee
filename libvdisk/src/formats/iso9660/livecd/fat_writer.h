// A deterministic FAT32 writer for the GRUB repack's EFI system partition (docs/livecd.md §6):
// a few directories and files, given as paths and bytes, become a FAT32 volume image. The same
// inputs always give the same bytes: no clock, no random serial, no host data.
//
// Why FAT32: UEFI 2.10 §13.3.1.1 says EFI "encompasses the use of FAT32 for a system partition,
// and FAT12 or FAT16 for removable media". Firmware in practice (EDK2/OVMF, Hyper-V Gen2) reads
// all three, but a cloud boot disk is fixed media, so the ESP follows the rule. FAT32 needs at
// least 65525 clusters (Microsoft FAT specification 1.03, "FAT type determination"); with
// 512-byte clusters that is a 33 MiB volume, almost all of it free clusters, which the image
// maps as unallocated (no memory, holes in sparse outputs).
//
// Layout (fixed, sector size 512, one sector per cluster): 32 reserved sectors (boot sector at
// 0, FSInfo at 1, their backups at 6 and 7), two FATs, the data area with the root directory at
// cluster 2, then every directory and file in input order, each in one contiguous cluster run.
// Names are upper-case 8.3 short names only (no VFAT long names; UEFI's \EFI\BOOT\BOOTX64.EFI
// and GRUB's lookups are case-insensitive). All entries carry one timestamp.
#ifndef VDISK_LIVECD_FAT_WRITER_H_
#define VDISK_LIVECD_FAT_WRITER_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "formats/iso9660/livecd/piece_image.h"
#include "vdisk/status.h"

namespace vdisk::livecd {

// One directory or file of the volume. `path` is '/'-separated from the root, without a
// leading '/': "EFI", "EFI/BOOT/BOOTX64.EFI". Parent directories that are not listed are
// created (before the entry, in the order first needed).
struct FatEntry {
  std::string path;
  bool directory = false;
  std::vector<std::byte> data;  // a file's content (empty for directories)
};

struct FatOptions {
  std::uint32_t volume_serial = 0;  // BPB_VolID; `fsck.fat -v` shows it as XXXX-XXXX
  // Volume label: empty (recorded as "NO NAME") or up to 11 characters from the 8.3 set plus
  // space, upper case; also written as the root directory's label entry.
  std::string label;
  // Every entry's creation, write and access date: Unix seconds (UTC), inside
  // [1980-01-01 00:00:00, 2107-12-31 23:59:58]; odd seconds round down (FAT's 2 s unit).
  std::int64_t timestamp = 315532800;  // 1980-01-01 00:00:00
  // BPB_HiddSec: the LBA where the partition starts (0 for an unpartitioned volume).
  std::uint32_t hidden_sectors = 0;
  // The volume is at least this big and its size a multiple of `align_bytes` (a multiple of
  // 512; 1 MiB keeps the partitions after it aligned).
  std::uint64_t min_bytes = 0;
  std::uint64_t align_bytes = 1u << 20;
  // Caps against unreasonable inputs (resource_exhausted beyond them).
  std::uint64_t max_bytes = 4ull << 30;
  std::size_t max_entries = 1024;
};

// The volume's geometry, for reports and tests.
struct FatGeometry {
  std::uint32_t total_sectors = 0;
  std::uint32_t reserved_sectors = 0;
  std::uint32_t fat_sectors = 0;    // per FAT (two FATs)
  std::uint32_t cluster_count = 0;  // data clusters (>= 65525: FAT32)
  std::uint32_t used_clusters = 0;  // root directory included
  std::uint32_t first_data_sector = 0;
};

struct FatImage {
  PieceImage image;
  FatGeometry geometry;
};

// Builds the volume. invalid_argument (one line naming the entry) for: an empty path or
// component, a name that is not an upper-case 8.3 name (1..8 + 0..3 characters from A-Z 0-9
// ! # $ % & ' ( ) - @ ^ _ ` { } ~), a path listed twice, a file used as a directory, data on a
// directory, a bad label, a timestamp outside FAT's range, align_bytes not a positive multiple
// of 512; resource_exhausted when the entries or the volume exceed the caps.
Result<FatImage> build_fat32(std::vector<FatEntry> entries, const FatOptions& options);

// True when `name` is a valid upper-case 8.3 short name as build_fat32 accepts it.
bool is_short_name(std::string_view name);

}  // namespace vdisk::livecd

#endif  // VDISK_LIVECD_FAT_WRITER_H_
