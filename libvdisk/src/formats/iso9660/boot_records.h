// El Torito boot catalog, MBR and GPT decoding (El Torito 1.0 §2; MBR: UEFI 2.10 §5.2; GPT:
// UEFI 2.10 §5.3). Pure codecs.
#ifndef VDISK_ISO9660_BOOT_RECORDS_H_
#define VDISK_ISO9660_BOOT_RECORDS_H_

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "vdisk/iso9660.h"
#include "vdisk/status.h"

namespace vdisk::iso9660::detail {

inline constexpr std::size_t kCatalogEntry = 32;
inline constexpr std::size_t kMaxCatalogEntries = 64 * 2048 / kCatalogEntry;  // 64 blocks

// Decodes a boot catalog (one or more 2048-byte blocks): validation entry (checksum), default
// entry, then section headers and their entries. `offset` is the image offset for messages.
Result<std::vector<ElToritoEntry>> decode_boot_catalog(std::span<const std::byte> catalog,
                                                       std::uint64_t offset);

struct Mbr {
  bool signature = false;
  bool code_present = false;
  std::uint64_t boot_lba = 0;            // LE64 at 432
  std::vector<MbrPartition> partitions;  // non-empty entries only
};
// Decodes sector 0 (512 bytes).
Mbr decode_mbr(std::span<const std::byte, 512> sector);

struct GptHeader {
  std::uint64_t current_lba = 0, backup_lba = 0, first_usable = 0, last_usable = 0;
  std::uint64_t entries_lba = 0;
  std::uint32_t entry_count = 0, entry_size = 0, entries_crc = 0;
};
inline constexpr std::uint32_t kMaxGptEntries = 1024;
inline constexpr std::uint32_t kMaxGptEntrySize = 1024;

// Decodes and verifies the GPT header in a 512-byte sector (signature, revision, header size,
// header CRC32, entry-array geometry bounds).
Result<GptHeader> decode_gpt_header(std::span<const std::byte, 512> sector, std::uint64_t offset);
// Verifies the entry-array CRC32 and decodes the used entries.
Result<std::vector<GptPartition>> decode_gpt_entries(const GptHeader& h,
                                                     std::span<const std::byte> array,
                                                     std::uint64_t offset);

// Mixed-endian GUID bytes to "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" (lowercase).
std::string guid_text(std::span<const std::byte, 16> g);
inline constexpr std::string_view kEspGuid = "c12a7328-f81f-11d2-ba4b-00a0c93ec93b";

// The UEFI default loader ("\\EFI\\BOOT\\BOOTX64.EFI", else BOOTAA64 / BOOTIA32) when the FAT
// file system at [offset, offset + length) of `f` holds it (non-empty, by 8.3 short names);
// "" when it does not or the FAT is unreadable. Never reads outside that range.
std::string find_efi_loader(const RandomAccessFile& f, std::uint64_t offset, std::uint64_t length);

// The bytes of `loader` (a path find_efi_loader() returned, "\\EFI\\BOOT\\BOOTX64.EFI") in the
// same FAT; empty when it is missing, larger than `max_bytes`, or its cluster chain is broken.
// Never reads outside [offset, offset + length).
std::vector<std::byte> read_efi_loader(const RandomAccessFile& f, std::uint64_t offset,
                                       std::uint64_t length, std::string_view loader,
                                       std::uint64_t max_bytes);

}  // namespace vdisk::iso9660::detail

#endif  // VDISK_ISO9660_BOOT_RECORDS_H_
