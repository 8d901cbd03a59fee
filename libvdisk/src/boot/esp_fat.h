// The UEFI default loader inside a FAT12/16/32 file system (an EFI system partition, or the El
// Torito EFI image of an ISO), found by its 8.3 short names (FAT: Microsoft "FAT32 File System
// Specification" 1.03, boot sector and directory entry layouts; the default loader path: UEFI
// 2.10 §3.5.1.1). Bounded: the byte range, cluster numbers, chain lengths and directory sizes
// are all checked; nothing is read outside [offset, offset + length) of the device.
#ifndef VDISK_BOOT_ESP_FAT_H_
#define VDISK_BOOT_ESP_FAT_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace vdisk::boot {

// Reads [offset, offset + dst.size()) of the device that holds the file system; false when that
// range cannot be read (outside the device, an I/O error).
using ReadAt = std::function<bool(std::uint64_t offset, std::span<std::byte> dst)>;

// The default loaders in the order they are looked for: x86-64, arm64, i386.
inline constexpr std::string_view kDefaultLoaders[] = {"BOOTX64.EFI", "BOOTAA64.EFI",
                                                       "BOOTIA32.EFI"};

// True when the 512 bytes at `offset` are a FAT boot sector (55 AA and "FAT" in the file system
// type field of the FAT12/16 or of the FAT32 layout).
bool looks_like_fat(const ReadAt& read, std::uint64_t offset);

// "\\EFI\\BOOT\\BOOTX64.EFI" (else BOOTAA64 / BOOTIA32) when the FAT at [offset, offset +
// length) holds that file, non-empty; "" when it does not or the FAT is unreadable.
std::string find_efi_loader(const ReadAt& read, std::uint64_t offset, std::uint64_t length);

// The bytes of `loader` (a path find_efi_loader() returned) in the same FAT; empty when it is
// missing, larger than `max_bytes`, or its cluster chain is broken.
std::vector<std::byte> read_efi_loader(const ReadAt& read, std::uint64_t offset,
                                       std::uint64_t length, std::string_view loader,
                                       std::uint64_t max_bytes);

}  // namespace vdisk::boot

#endif  // VDISK_BOOT_ESP_FAT_H_
