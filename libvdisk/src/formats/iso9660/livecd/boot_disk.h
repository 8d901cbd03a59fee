// How an ISO input becomes a disk (the iso9660 driver's `boot` option; docs/livecd.md):
//
//   none    the ISO's bytes as they are (the default into targets that do not boot: raw, vhd)
//   hybrid  the vendor's boot loader kept; only the system area (and 8 bytes of a GRUB boot
//           image) rewritten (hybrid.h); refused (unsupported) when the ISO does not qualify
//   grub    the GRUB repack (repack.h): GRUB boots the ISO's default kernel entry with a serial
//           console added, the ISO verbatim in its own partition
//   auto    hybrid when the ISO qualifies and no kernel arguments are asked for, else grub; an
//           ISO that already boots as a disk is copied as it is (the default into targets that
//           boot: OpenOptions::boot_disk)
#ifndef VDISK_LIVECD_BOOT_DISK_H_
#define VDISK_LIVECD_BOOT_DISK_H_

#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "formats/iso9660/livecd/hybrid.h"
#include "vdisk/block.h"
#include "vdisk/image.h"
#include "vdisk/iso9660.h"
#include "vdisk/options.h"
#include "vdisk/status.h"

namespace vdisk::livecd {

enum class BootMode : std::uint8_t { none, automatic, hybrid, grub };

// The iso9660 driver's option rows: boot, kernel-args, secure-boot, isohdpfx, boot-hybrid.
std::span<const OptionSpec> iso_options();

// The mode `options` ask for (settings "boot", else auto when boot_disk, else none) and the
// kernel-argument edits; invalid_argument when kernel-args go with a mode that keeps the ISO's
// own command line (none, hybrid), or secure-boot with none or grub.
struct BootRequest {
  BootMode mode = BootMode::none;
  std::string kernel_args;
  BootCodePaths code_paths;
  // The disk must boot with UEFI Secure Boot on (setting "secure-boot"; docs/livecd.md §11):
  // only the ISO's own loader, signed with Microsoft's UEFI CA, may boot it.
  bool secure_boot = false;
};
Result<BootRequest> boot_request(const OpenOptions& options);

// What `auto` does with this ISO, and why, for `info` (one line each).
struct AutoVerdict {
  std::string action;  // "copy", "hybrid", "grub" or "refuse"
  std::string reason;
};
AutoVerdict auto_verdict(const HybridPlan& plan, const iso9660::Volume* volume);

// The disk `iso` becomes under `request` (mode != none). `iso` is the ISO's bytes (shared: the
// result keeps it alive); `volume` its file system (null when unreadable). Notes go to
// options.on_diagnostic. unsupported (exit 4) with one line naming why when the mode cannot be
// honoured.
Result<std::unique_ptr<BlockSource>> make_boot_disk(std::shared_ptr<const BlockSource> iso,
                                                    const iso9660::Volume* volume,
                                                    const BootRequest& request,
                                                    const OpenOptions& options);

// The same for a stream, with the same choices: the hybrid form holds back the ISO's head
// (hybrid.h, "Streaming form"); the repack keeps the ISO's directories and configuration files
// as they pass and writes the ESP after the ISO (repack.h, "Streaming form"). No boot verdict
// (the initrd would have to be read a second time).
Result<std::unique_ptr<StreamSource>> make_boot_stream(std::unique_ptr<StreamSource> iso,
                                                       const BootRequest& request,
                                                       const OpenOptions& options);

}  // namespace vdisk::livecd

#endif  // VDISK_LIVECD_BOOT_DISK_H_
