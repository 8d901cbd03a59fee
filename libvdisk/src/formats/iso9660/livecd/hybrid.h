// Hybrid disks from El Torito ISOs (docs/livecd.md §1-§3): a live ISO that boots only
// as a CD is made to boot as a disk by rewriting its 32 KiB system area (sector 0: a hybrid MBR;
// for an El Torito EFI image also a GPT with an EFI system partition over that image) and, for
// GRUB, 8 bytes inside the boot image. Every other byte is the ISO's, so the ISO 9660 file
// system, its label and an implanted MD5 stay intact.
//
// Use:
//   auto plan = plan_hybrid(iso_source);            // analysis: catalog, boot images, tree
//   switch (plan->action) { copy_as_is / hybridize / impossible }   // reasons in plan
//   auto code = load_boot_code(*plan);              // isohdpfx.bin or boot_hybrid.img
//   auto disk = hybrid_disk(iso_source, *plan, *code);   // a BlockSource to convert
//
// Nothing here prints, reads the environment or spawns a process; load_boot_code() reads the one
// file the plan needs, at the path it is given (Debian's by default). Output is deterministic: the
// disk signature and GUIDs are derived from the ISO's volume descriptor and boot catalog.
#ifndef VDISK_LIVECD_HYBRID_H_
#define VDISK_LIVECD_HYBRID_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "formats/iso9660/livecd/efi_loader.h"
#include "vdisk/block.h"
#include "vdisk/io.h"
#include "vdisk/iso9660.h"
#include "vdisk/properties.h"
#include "vdisk/status.h"

namespace vdisk::livecd {

// The system area: the ISO's first 16 blocks, unused by ISO 9660 (ECMA-119 §6.2.1).
inline constexpr std::uint64_t kSystemAreaBytes = 32 * 1024;
// The view's size is a multiple of this (isohybrid's default geometry: 64 heads x 32 sectors).
inline constexpr std::uint64_t kHybridAlign = 1024 * 1024;

enum class BiosLoader : std::uint8_t { none, isolinux, grub };
std::string_view bios_loader_name(BiosLoader loader) noexcept;

enum class HybridAction : std::uint8_t {
  copy_as_is,  // the ISO already boots as a disk wherever it can (an isohybrid ISO): copy it
  hybridize,   // hybrid_disk() makes it boot as a disk (see bios_boots / uefi_boots)
  impossible,  // nothing this module can do makes it boot as a disk; `refusal` says why
};
std::string_view hybrid_action_name(HybridAction action) noexcept;

struct EfiImage {
  bool present = false;     // a bootable El Torito entry for platform 0xEF
  std::uint32_t rba = 0;    // its 2048-byte block
  std::uint64_t bytes = 0;  // its size: from the directory record of the file at `rba`, else
                            // from the catalog's 16-bit count of 512-byte sectors
  std::string path;         // the ISO path of that file ("" when no directory record points there)
  bool size_from_catalog = false;
  std::string loader;           // "\\EFI\\BOOT\\BOOTX64.EFI" (or AA64/IA32) when its FAT holds it
  EfiLoaderFacts loader_facts;  // that loader's PE facts (efi_loader.h), when `loader` is set
};

struct HybridPlan {
  HybridAction action = HybridAction::impossible;
  std::uint64_t iso_size = 0;  // bytes of the ISO source
  iso9660::BootReport report;  // the ISO as it is (system area, catalog, classification)

  // What the BIOS side of the result uses: the El Torito BIOS image and the MBR code it needs.
  BiosLoader bios_loader = BiosLoader::none;  // set when action == hybridize and BIOS works
  std::uint32_t bios_rba = 0;
  bool grub_blocklist_patched = false;  // the image already holds rba * 4 + 5 at +2548
  EfiImage efi;
  bool write_gpt = false;  // hybridize with a GPT ESP over efi (else an MBR-only disk)

  // The result, firmware by firmware: does it boot as a disk, and one line why (or why not).
  bool bios_boots = false;
  std::string bios_reason;
  bool uefi_boots = false;
  std::string uefi_reason;
  // One line for action == impossible (the exit-4 refusal), else empty.
  std::string refusal;
  // One line summary for `info` and logs ("hybridize: BIOS via isolinux, UEFI via GPT ESP").
  std::string summary;

  // Layout of the hybrid disk (action == hybridize).
  std::uint64_t disk_size = 0;       // ISO (+ backup GPT) rounded up to kHybridAlign
  std::uint32_t disk_signature = 0;  // MBR bytes 440..443
  std::array<std::uint8_t, 16> disk_guid{};
  std::array<std::uint8_t, 16> esp_guid{};
};

// Analyses the ISO in `iso` (an ISO 9660 image as bytes: the iso9660 driver's BlockSource, a raw
// source, a file). Reads the volume descriptors, the boot catalog, the first blocks of the boot
// images, the system area and, to size the EFI image, the directory tree (Volume::walk, capped
// by VolumeLimits). Errors: I/O failures only (io_error, out_of_range from the source).
// Everything else, bytes that are no ISO 9660 volume and a hostile catalog included, is a plan
// whose action and reasons say what can and cannot be done.
struct PlanOptions {
  // Fill report.livecd (reads LiveOS/squashfs.img's first bytes and the boot configuration,
  // anywhere in the ISO). The streaming form turns it off to stay near the ISO's start.
  bool live_layout = true;
};
Result<HybridPlan> plan_hybrid(const RandomAccessFile& iso, const PlanOptions& options = {});
Result<HybridPlan> plan_hybrid(const BlockSource& iso, const PlanOptions& options = {});

// Adds the plan as properties (for `vdconvert info` and logs): action, summary, refusal (when
// impossible), bios_boots, bios_reason, bios_loader, uefi_boots, uefi_reason, efi{block, bytes,
// path, size_from_catalog, loader} (when an EFI entry exists), disk_size (when hybridize).
void describe_hybrid_plan(const HybridPlan& plan, Properties& out);

// The MBR boot code hybrid_disk() writes: the first 432 bytes of syslinux's isohdpfx.bin for
// isolinux, the first 440 bytes of GRUB's boot_hybrid.img for GRUB. Only the one the plan needs
// must be filled.
struct BootCode {
  std::vector<std::byte> isohdpfx;     // >= 432 bytes
  std::vector<std::byte> grub_hybrid;  // >= 440 bytes
};

struct BootCodePaths {
  std::filesystem::path isohdpfx = "/usr/lib/ISOLINUX/isohdpfx.bin";            // isolinux
  std::filesystem::path grub_hybrid = "/usr/lib/grub/i386-pc/boot_hybrid.img";  // grub-pc-bin
};

// Reads the boot code `plan` needs (none for an MBR-less plan or a UEFI-only one). A missing file
// is not_found naming the Debian package ("isolinux", "grub-pc-bin"); a file of the wrong size
// or shape is invalid_argument.
Result<BootCode> load_boot_code(const HybridPlan& plan, const BootCodePaths& paths = {});

struct HybridOptions {
  // The MBR partition entry's boot indicator. Default: 0x80 on the MBR-only layout (as isohybrid
  // writes it), 0x00 on the protective entry of the GPT layout (UEFI 2.10 §5.2.3); true/false
  // force 0x80/0x00 on either.
  std::optional<bool> active;
};

// The hybrid disk: a BlockSource of plan.disk_size bytes that reads as the ISO except for the
// patches listed in docs/livecd.md (sector 0; with a GPT, LBAs 1..33 and the last 33 LBAs; for
// GRUB, bytes rba*2048 + 2548..2555); bytes past the ISO read as zero. `iso` is shared: the view
// keeps it alive and forwards reads to it (concurrently; BlockSource reads are thread-safe).
// map() reports the ISO's extents with the patched ranges as data and the padding as zero.
// Errors: invalid_argument when plan.action is not hybridize, the plan was made for another
// size, or the boot code the plan needs is missing or too short.
Result<std::unique_ptr<BlockSource>> hybrid_disk(std::shared_ptr<const BlockSource> iso,
                                                 const HybridPlan& plan, const BootCode& code,
                                                 const HybridOptions& options = {});

// The patches alone, for callers that place the bytes themselves (the streaming form, tests):
// ranges of the disk in increasing offset order, none overlapping.
struct Patch {
  std::uint64_t offset = 0;
  std::vector<std::byte> bytes;
};
Result<std::vector<Patch>> hybrid_patches(const HybridPlan& plan, const BootCode& code,
                                          const HybridOptions& options = {});

// ---- Streaming form -----------------------------------------------------------------------
//
// A StreamSource emits the disk front to back, and the system area comes first, yet what goes
// there depends on the boot catalog, the boot images and (for the GPT ESP's size) the directory
// tree, which lie further on. So hybrid_stream() holds back the stream's first bytes: planning
// reads the stream into memory as far as the furthest byte it needs (the volume descriptors,
// the catalog, the boot images, the directories up to the EFI image's record, the EFI image's
// FAT), never past `max_prefix`. Memory is bounded by max_prefix (default 64 MiB; xorriso and
// genisoimage put descriptors, catalog and directories first, but the boot images' data goes in
// tree order, so an ISO whose boot images follow a large file, such as LiveOS/squashfs.img
// sorting before isolinux/, needs a file, not a stream). When planning would read past the
// bound, the plan is `impossible` with a refusal naming the offset and the bound.
//
// The ISO's size: the inner stream's size() when it states one, else the primary volume
// descriptor's volume space size (a plain El Torito ISO is exactly that long). The MBR and GPT
// are laid out for it before the ISO's end is seen; a stream that then turns out shorter or
// longer is corrupt (an error from read/next, never a disk with a wrong GPT).
//
// For a plan other than hybridize the stream passes the ISO through unchanged (held-back bytes
// first); the caller checks plan().action before copying and refuses when it must.
class HybridStream : public StreamSource {
 public:
  virtual const HybridPlan& plan() const = 0;
};

struct HybridStreamOptions {
  std::uint64_t max_prefix = 64 * 1024 * 1024;
  // Plan, but pass the ISO through unchanged whatever the plan (the GRUB repack's input).
  bool plan_only = false;
  // Called once with a hybridize plan to get its boot code; empty = load_boot_code(plan) from
  // Debian's paths. An error from it is returned by hybrid_stream().
  std::function<Result<BootCode>(const HybridPlan&)> load_code;
  HybridOptions layout;
};

// Plans from the stream's head (see above) and wraps it. Errors: the inner stream's I/O errors
// and the boot-code loader's; everything about the ISO itself is in plan().
Result<std::unique_ptr<HybridStream>> hybrid_stream(std::unique_ptr<StreamSource> iso,
                                                    const HybridStreamOptions& options = {});

}  // namespace vdisk::livecd

#endif  // VDISK_LIVECD_HYBRID_H_
