// What a disk boots: its partition table, its BIOS boot code and its EFI system partition, read
// from any opened disk (a BlockSource: raw, VHD, VHDX, VMDK, qcow2, VDI, ...), and the verdict
// for BIOS and for UEFI firmware, each with its reason (docs/boot.md).
//
// Facts (MBR: UEFI 2.10 §5.2.1; GPT: UEFI 2.10 §5.3; the default loader: UEFI 2.10 §3.5.1.1;
// GRUB's boot.img and core image: docs/boot.md):
//   - sector 0: the 55 AA signature, boot code (any non-zero byte in 0..439), the four MBR
//     entries (active flag, type, start, size); an entry whose status byte is neither 0x00 nor
//     0x80 means sector 0 is no partition table (a file system's boot sector);
//   - a GPT header at LBA 1 of 512-byte LBAs (byte 512) or of 4096-byte LBAs (byte 4096), its
//     header and entry-array CRCs and entries checked by gpt/gpt_codec.h;
//   - the kind of table: none, mbr, gpt (protective MBR), hybrid (a valid GPT and MBR entries
//     other than the protective 0xEE one);
//   - GRUB's boot.img recognised by its messages, and where it loads the core image from
//     (LE64 at 0x5C; at 0x1B0 for boot_hybrid.img): the gap after the MBR, a BIOS boot
//     partition, or elsewhere, and whether that sector holds GRUB's diskboot.img;
//   - the EFI system partition (GPT type C12A7328-F81F-11D2-BA4B-00A0C93EC93B, else MBR type
//     0xEF) and whether its FAT file system holds \EFI\BOOT\BOOTX64.EFI (boot/esp_fat.h).
//
// Bounded: sector 0, one GPT header, an entry array of at most gpt::kMaxArrayBytes, one sector
// of core image, and the FAT reader's bounded reads inside the partition. Every offset and count
// from the disk is checked against the disk size before it is read. Errors only when the
// source fails to read; a malformed table is a fact in the report.
#ifndef VDISK_BOOT_DISK_BOOT_H_
#define VDISK_BOOT_DISK_BOOT_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "vdisk/block.h"
#include "vdisk/properties.h"
#include "vdisk/status.h"

namespace vdisk::boot {

enum class TableKind : std::uint8_t { none, mbr, gpt, hybrid };
std::string_view table_kind_name(TableKind kind) noexcept;

// GPT type GUIDs in canonical lowercase text.
inline constexpr std::string_view kEspType = "c12a7328-f81f-11d2-ba4b-00a0c93ec93b";
inline constexpr std::string_view kBiosBootType = "21686148-6449-6e6f-744e-656564454649";
inline constexpr std::uint8_t kMbrProtective = 0xEE;
inline constexpr std::uint8_t kMbrEsp = 0xEF;

struct MbrEntry {
  int index = 0;  // 1..4
  bool active = false;
  std::uint8_t type = 0;
  std::uint32_t start_lba = 0;
  std::uint32_t sectors = 0;
};

struct GptPartition {
  int index = 0;                              // 1-based entry number
  std::string type_guid;                      // canonical lowercase text
  std::uint64_t first_lba = 0, last_lba = 0;  // in the GPT's LBAs, inclusive
  std::uint64_t attributes = 0;
};

struct DiskBootFacts {
  std::uint64_t disk_bytes = 0;
  TableKind table = TableKind::none;
  // Sector 0.
  bool mbr_signature = false;            // 55 AA at 510
  bool mbr_code = false;                 // a non-zero byte in 0..439
  bool mbr_table = false;                // the four entries' status bytes are 0x00 or 0x80
  std::vector<MbrEntry> mbr_partitions;  // used entries (type and size non-zero)
  bool active_partition = false;
  // GPT.
  bool gpt_present = false;        // "EFI PART" at LBA 1
  bool gpt_valid = false;          // header, array CRC and entries check out
  std::uint32_t gpt_lba_size = 0;  // 512 or 4096 when present
  std::string gpt_problem;
  std::vector<GptPartition> gpt_partitions;
  // BIOS boot code.
  // "grub" (GRUB's boot.img), "grub-hybrid" (its isohybrid build, boot_hybrid.img, whose core
  // sector is the LE64 at 0x1B0), "other", or "" (none).
  std::string boot_code;
  std::uint64_t grub_core_lba = 0;         // the core image's first sector (512-byte LBA)
  std::uint64_t grub_hybrid_core_lba = 0;  // the LE64 at 0x1B0 (boot_hybrid.img's)
  bool grub_core_found = false;            // that sector holds GRUB's diskboot.img
  std::string grub_core_where;             // "the gap after the MBR", "BIOS boot partition 1", ...
  // EFI system partition.
  bool esp = false;
  bool esp_in_gpt = false;  // a GPT entry (else an MBR type 0xef entry)
  std::string esp_where;    // "gpt partition 1 (LBAs 2048..104447)" / "mbr partition 2 ..."
  std::string esp_loader;   // "\\EFI\\BOOT\\BOOTX64.EFI", another default loader, or ""
  // The verdicts.
  bool bios = false;
  std::string bios_reason;
  bool uefi = false;
  std::string uefi_reason;
  bool data_disk = false;  // no boot code and no EFI system partition
  std::string summary;     // one line: "BIOS and UEFI", "BIOS only", ..., "data disk"
};

// Reads the facts and the verdicts from `disk`.
Result<DiskBootFacts> read_disk_boot(const BlockSource& disk);

// Adds the facts under the current object (`info`'s "boot" object: docs/json.md).
void describe_disk_boot(const DiskBootFacts& facts, Properties& out);

}  // namespace vdisk::boot

#endif  // VDISK_BOOT_DISK_BOOT_H_
