// The GRUB repack of a live ISO (docs/livecd.md §6): a new disk
// that boots the ISO's kernel with a command line of our choosing, under BIOS and UEFI, while
// the ISO itself stays byte for byte as it was (its label, dmsquash-live and checkisomd5 keep
// working).
//
// Layout (512-byte LBAs; every partition 1 MiB aligned; the size a whole number of MiB):
//   LBA 0       protective MBR: GRUB boot.img bytes 0..439 with kernel_sector (0x5C, u64) =
//               kCoreLba and the hard-disk drive check enabled (0x66-0x67 = 90 90); one 0xEE
//               entry from LBA 1 over the disk (capped at 0xFFFFFFFF sectors), 55 AA
//   LBA 1..33   GPT header and 128 entries of 128 bytes
//   p1 2048     BIOS boot partition (21686148-6449-6E6F-744E-656564454649), 1 MiB: GRUB's
//               i386-pc core.img at its first LBA, its diskboot blocklist (core + 0x1F4) set to
//               start = kCoreLba + 1
//   p3 4096     the ISO, verbatim, then zeros to the next MiB ("ISO9660", Linux filesystem
//               data type 0FC63DAF-8483-4772-8E79-3D69D8477DE4: only Linux reads it; Windows
//               leaves such partitions alone); RepackLayout's iso_last_lba is the ISO's last
//               LBA, the partition ends at esp_first_lba - 1
//   p2          after the ISO, 1 MiB aligned: the EFI system partition, a FAT32 volume
//               (fat_writer.h) holding \EFI\BOOT\BOOTX64.EFI (GRUB x86_64-efi) and
//               \EFI\BOOT\GRUB.CFG (grub_cfg.h); its size is that of a volume holding the EFI
//               image and a grub.cfg of kMaxGrubCfgBytes, whatever the real grub.cfg's length
//   last 33     backup entries and header
// The ESP comes after the ISO so that the disk can be written front to back from a stream: the
// grub.cfg needs the ISO's boot configuration, which may lie anywhere in the ISO, and everything
// before the ISO depends only on its primary volume descriptor and size. GPT entries need not be
// in disk order (UEFI 2.10 §5.3.3); the numbers stay p2 = ESP and p3 = ISO, which the GRUB
// prefixes and grub.cfg name.
// The GRUB images must be built to find their configuration there: the i386-pc core with
// prefix "(,gpt2)/EFI/BOOT" (the boot disk's partition 2), the x86_64-efi image with prefix
// "/EFI/BOOT" (the partition it was loaded from). Both read GRUB.CFG through GRUB's
// case-insensitive FAT driver.
//
// Determinism: the same ISO bytes, boot entry, images and options give the same disk. The GPT
// disk and partition GUIDs (RFC 9562 version 8) and the FAT serial are derived from a SHA-256
// of the ISO's primary volume descriptor and size; the FAT timestamp is the PVD's creation time
// unless given.
//
// Cost: building reads the PVD (one 2 KiB read), copies the three images and builds the FAT
// twice (once to size the ESP); reading and
// mapping go straight to the ISO for p3 and to a few generated pieces elsewhere (about the
// size of the images); everything else is zeros, mapped as unallocated.
#ifndef VDISK_LIVECD_REPACK_H_
#define VDISK_LIVECD_REPACK_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "formats/iso9660/livecd/boot_entry.h"
#include "formats/iso9660/livecd/grub_cfg.h"
#include "formats/iso9660/livecd/iso_capture.h"
#include "vdisk/block.h"
#include "vdisk/iso9660.h"
#include "vdisk/status.h"

namespace vdisk::livecd {

inline constexpr std::uint64_t kRepackLba = 512;
inline constexpr std::uint64_t kCoreLba = 2048;       // p1's first LBA
inline constexpr std::uint64_t kBiosBootLbas = 2048;  // p1: 1 MiB, the core image's limit
inline constexpr std::uint64_t kIsoFirstLba = 4096;   // p3
inline constexpr std::size_t kMaxGrubCfgBytes = 64 * 1024;
inline constexpr unsigned kEspPartition = 2;
inline constexpr unsigned kIsoPartition = 3;
inline constexpr const char* kGrubBiosPrefix = "(,gpt2)/EFI/BOOT";
inline constexpr const char* kGrubEfiPrefix = "/EFI/BOOT";

// The GRUB images, read or built by the caller (the library never runs grub-mkimage). They are
// GPLv3 and are never embedded in libvdisk. make_repack() copies them: the spans need only live
// through the call.
struct RepackImages {
  std::span<const std::byte> boot_image;  // /usr/lib/grub/i386-pc/boot.img: 512 bytes
  std::span<const std::byte> core_image;  // grub-mkimage -O i386-pc (diskboot.img first)
  std::span<const std::byte> efi_image;   // grub-mkimage -O x86_64-efi: PE, x86-64
};

struct RepackOptions {
  GrubConfigOptions grub;
  // Set the boot indicator (0x80) on the protective MBR's entry. UEFI 2.10 §5.2.3 wants 0x00,
  // which UEFI firmware ignores either way; some old BIOSes boot only a disk with an active
  // entry.
  bool active_flag = false;
  // ESP file times (Unix seconds); default: the ISO's PVD creation time when it is a valid
  // date inside FAT's range, else 1980-01-01.
  std::optional<std::int64_t> timestamp;
  std::optional<std::uint32_t> volume_serial;  // the ESP's; default: derived from the PVD
  std::string esp_label = "EFI";               // FAT volume label (fat_writer.h rules)
};

// Where everything went, for reports and tests.
struct RepackLayout {
  std::uint64_t size = 0;  // bytes; a multiple of 1 MiB
  std::uint64_t bios_boot_first_lba = 0, bios_boot_last_lba = 0;
  std::uint64_t esp_first_lba = 0, esp_last_lba = 0;
  std::uint64_t iso_first_lba = 0, iso_last_lba = 0;
  std::uint64_t iso_size = 0;
  std::uint64_t core_sectors = 0;  // sectors of core.img (the blocklist loads all but one)
  std::string iso_volume_id;       // PVD volume identifier, trailing spaces removed
  std::string grub_cfg;            // the text of \EFI\BOOT\GRUB.CFG
  std::array<std::uint8_t, 16> disk_guid{};  // as stored in the GPT header
  std::string iso_partuuid;  // p3's unique GUID, lower-case text (/dev/disk/by-partuuid)
  std::uint32_t esp_serial = 0;
  std::int64_t esp_timestamp = 0;
};

class RepackSource : public BlockSource {
 public:
  virtual const RepackLayout& layout() const = 0;
};

// The repacked disk over `iso` (borrowed: it must outlive the result). Reads are thread-safe.
// map() reports the ISO's own map inside p3 and the generated sectors as data; all other bytes
// (free ESP clusters, gaps, padding) as unallocated.
// Errors (one line each):
// - corrupt: `iso` is not an ISO 9660 image (no primary volume descriptor "CD001" at 32 KiB),
//   its size is not a multiple of 2048, its volume space is larger than the image (truncated);
// - invalid_argument: boot_image is not a 512-byte GRUB i386-pc boot.img of the known layout
//   (jmp 0x65 at 0, kernel address 0x8000 at 0x5A, kernel_sector 1 at 0x5C, boot drive 0xFF at
//   0x64, drive-check jump at 0x66, 55 AA); core_image is not a GRUB i386-pc core image whose
//   diskboot blocklist (0x1F4: start u64 = 2 or already kCoreLba + 1, length u16 = its sectors
//   - 1, segment 0x0820; the entry below it empty) matches its size, or it exceeds the 1 MiB
//   BIOS boot partition; efi_image is not a PE image for x86-64 ("MZ", "PE\0\0" at e_lfanew,
//   machine 0x8664) or exceeds 256 MiB; the boot entry or options
//   are refused by grub_config() or build_fat32(); an ISO so large that the disk's size
//   overflows 64 bits;
// - io_error etc. from reading the PVD.
Result<std::unique_ptr<RepackSource>> make_repack(const BlockSource& iso, const BootEntry& entry,
                                                  const RepackImages& images,
                                                  const RepackOptions& options = {});

// The PARTUUID p3 gets in the repack of `iso` (lower-case text, as /dev/disk/by-partuuid names
// it), without building the repack: for a command line that names the ISO partition
// (root=live:PARTUUID=..., which dracut's dmsquash-live accepts) when its label cannot be passed
// (grub_cfg.h: backslashes). It depends on the ISO's PVD and size only. Errors: the ISO checks
// of make_repack().
Result<std::string> repack_iso_partuuid(const BlockSource& iso);

// ---- Streaming form -------------------------------------------------------------------------
//
// The same disk, byte for byte, written front to back from an ISO stream (stdin): the MBR, GPT
// and core image from the ISO's first 34 KiB (its primary volume descriptor), then the ISO passed
// through unchanged while an IsoCapture (iso_capture.h) keeps its directories and configuration
// files, then, at the ISO's end, `choose` is called with an iso9660::Volume over what was kept
// and the layout (for iso_partuuid); the ESP is built from the entry it returns, then the
// backup GPT follows. Memory: the capture's bounds, the images and the ESP's pieces.
//
// The ISO's size: the inner stream's size() when it states one, else the primary volume
// descriptor's volume space size; a stream that ends early or runs on past it is corrupt (an
// error from read/next, never a disk with a wrong GPT). Errors from `choose` (no kernel entry, a
// configuration the capture did not keep) come from the read/next call at the ISO's end; the
// caller's sink then discards what it wrote (block.h: a sink is only committed by finish()).
class RepackStream : public StreamSource {
 public:
  virtual const RepackLayout& layout() const = 0;
};

using RepackEntryChooser =
    std::function<Result<BootEntry>(const iso9660::Volume& volume, const RepackLayout& layout)>;

// Reads the stream's first 34 KiB and lays the disk out. Errors: make_repack()'s about the ISO
// and the images (from the head alone), the inner stream's I/O errors.
Result<std::unique_ptr<RepackStream>> repack_stream(std::unique_ptr<StreamSource> iso,
                                                    const RepackImages& images,
                                                    RepackEntryChooser choose,
                                                    const RepackOptions& options = {},
                                                    const CaptureLimits& limits = {});

}  // namespace vdisk::livecd

#endif  // VDISK_LIVECD_REPACK_H_
