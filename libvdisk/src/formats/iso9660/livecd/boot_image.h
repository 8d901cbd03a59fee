// Classification of an El Torito BIOS boot image (docs/livecd.md §1.1): is it an
// isolinux.bin that a syslinux-style hybrid MBR can start, a GRUB El Torito image (cdboot.img
// followed by diskboot.img) that GRUB's boot_hybrid.img can start, or something else? Shared by
// the boot report (formats/iso9660/boot_report.cpp) and the hybridiser (hybrid.h).
//
// Every offset and length read from the image is checked against the file before use; an image
// that lies (a boot info table naming another block, a checksum that does not match, a blocklist
// past the end) is classified with `usable` false and a one-line `problem`, never an error.
// Errors are only I/O failures of the file.
#ifndef VDISK_LIVECD_BOOT_IMAGE_H_
#define VDISK_LIVECD_BOOT_IMAGE_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "vdisk/io.h"
#include "vdisk/iso9660.h"
#include "vdisk/status.h"

namespace vdisk::livecd {

// isolinux.bin's hybrid entry signature, little-endian at image + 0x40 (syslinux 3.72 and later;
// not in isolinux-debug.bin).
inline constexpr std::uint32_t kIsolinuxHybridSignature = 0x7078c0fb;
// Where GRUB's diskboot.img starts inside an i386-pc-eltorito image (after cdboot.img), and its
// first blocklist entry's start sector (u64) inside the image (xorrisofs --grub2-boot-info).
inline constexpr std::uint64_t kGrubDiskbootOffset = 2048;
inline constexpr std::uint64_t kGrubBlocklistOffset = 2548;
// An isolinux.bin larger than this (boot info table length) is refused as implausible.
inline constexpr std::uint32_t kMaxIsolinuxBytes = 1u << 20;

struct BiosImageClass {
  iso9660::BootImageKind kind = iso9660::BootImageKind::none;
  bool usable = false;    // a hybrid MBR for this kind can start it
  std::string detail;     // one line: what it is, or why it cannot be started from a disk
  std::uint32_t rba = 0;  // the image's 2048-byte block
  // GRUB only: the blocklist start (u64 at image + 2548) as stored: 2 for an image that
  // xorriso did not patch, rba * 4 + 5 for one it did.
  std::uint64_t grub_blocklist_start = 0;
};

// Classifies the boot image of `entry` (a platform 0 entry of the catalog) in `iso`.
Result<BiosImageClass> classify_bios_image(const RandomAccessFile& iso,
                                           const iso9660::ElToritoEntry& entry);

// The entry BIOS firmware boots: the first bootable platform 0 (x86) entry of the catalog, or
// nullptr.
const iso9660::ElToritoEntry* bios_entry(const std::vector<iso9660::ElToritoEntry>& entries);
// The first bootable platform 0xEF (UEFI) entry, or nullptr.
const iso9660::ElToritoEntry* efi_entry(const std::vector<iso9660::ElToritoEntry>& entries);

}  // namespace vdisk::livecd

#endif  // VDISK_LIVECD_BOOT_IMAGE_H_
