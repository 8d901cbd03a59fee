// Classification of El Torito BIOS boot images (see boot_image.h; docs/livecd.md).
#include "formats/iso9660/livecd/boot_image.h"

#include <algorithm>
#include <array>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "base/checked.h"
#include "base/endian.h"

namespace vdisk::iso9660 {

std::string_view boot_image_kind_name(BootImageKind kind) noexcept {
  switch (kind) {
    case BootImageKind::none:
      return "none";
    case BootImageKind::isolinux_hybrid:
      return "isolinux";
    case BootImageKind::isolinux_no_signature:
      return "isolinux-without-hybrid-signature";
    case BootImageKind::grub_diskboot:
      return "grub2-eltorito";
    case BootImageKind::other:
      return "other";
  }
  return "unknown";
}

}  // namespace vdisk::iso9660

namespace vdisk::livecd {
namespace {

using iso9660::BootImageKind;
using iso9660::ElToritoEntry;
using vdisk::detail::load_le16;
using vdisk::detail::load_le32;
using vdisk::detail::load_le64;
using vdisk::detail::range_inside;

constexpr std::uint64_t kBlock = 2048;
// The boot info table (mkisofs -boot-info-table, El Torito as extended by mkisofs): at image
// offset 8, four u32 LE: the PVD block (16), the image's own block, its length in bytes and the
// 32-bit sum of the image's words from byte 64 to its end.
constexpr std::size_t kInfoPvd = 8, kInfoFile = 12, kInfoLength = 16, kInfoChecksum = 20;
constexpr std::size_t kSignatureAt = 0x40;
constexpr std::uint64_t kIsolinuxSearchBytes = 64 * 1024;  // where "ISOLINUX" is looked for
constexpr std::uint16_t kDiskbootSegment = 0x0820;

// Why an isolinux.bin with the hybrid signature cannot be started from a disk, or "".
Result<std::string> isolinux_problem(const RandomAccessFile& iso, const ElToritoEntry& e,
                                     std::span<const std::byte> head) {
  if (e.sector_count != 4)
    return fmt::format(
        "El Torito load count is {} sectors, expected 4 (the hybrid MBR loads the first 2048 "
        "bytes and isolinux the rest through its boot info table)",
        e.sector_count);
  if (e.load_segment != 0 && e.load_segment != 0x7C0)
    return fmt::format("El Torito load segment is 0x{:04x}, expected 0 or 0x07c0", e.load_segment);
  const std::uint32_t pvd = load_le32(head.subspan(kInfoPvd));
  const std::uint32_t file = load_le32(head.subspan(kInfoFile));
  const std::uint32_t length = load_le32(head.subspan(kInfoLength));
  const std::uint32_t checksum = load_le32(head.subspan(kInfoChecksum));
  if (pvd != 16)
    return fmt::format(
        "boot info table (image offset 8) names the primary volume descriptor at block {}, "
        "expected 16 (was the ISO made with -boot-info-table?)",
        pvd);
  if (file != e.load_rba)
    return fmt::format("boot info table names the image at block {}, but the catalog says {}", file,
                       e.load_rba);
  const std::uint64_t at = std::uint64_t{e.load_rba} * kBlock;
  if (length < kBlock || length > kMaxIsolinuxBytes)
    return fmt::format("boot info table states a length of {} bytes, expected 2048..{}", length,
                       kMaxIsolinuxBytes);
  if (!range_inside(at, length, iso.size()))
    return fmt::format(
        "boot info table length {} at block {} runs past the end of the ISO ({} "
        "bytes)",
        length, e.load_rba, iso.size());
  std::vector<std::byte> image(length);
  VDISK_RETURN_IF_ERROR(iso.read_at(at, image));
  std::uint32_t sum = 0;
  for (std::size_t i = 64; i < image.size(); i += 4) {
    std::array<std::byte, 4> w{};
    std::copy_n(image.begin() + static_cast<std::ptrdiff_t>(i),
                std::min<std::size_t>(4, image.size() - i), w.begin());
    sum += load_le32(w);
  }
  if (sum != checksum)
    return fmt::format("boot info table checksum 0x{:08x}, computed 0x{:08x} over the image",
                       checksum, sum);
  return std::string();
}

}  // namespace

const ElToritoEntry* bios_entry(const std::vector<ElToritoEntry>& entries) {
  for (const auto& e : entries)
    if (e.platform == 0 && e.bootable) return &e;
  return nullptr;
}

const ElToritoEntry* efi_entry(const std::vector<ElToritoEntry>& entries) {
  for (const auto& e : entries)
    if (e.platform == 0xEF && e.bootable) return &e;
  return nullptr;
}

Result<BiosImageClass> classify_bios_image(const RandomAccessFile& iso, const ElToritoEntry& e) {
  BiosImageClass c;
  c.rba = e.load_rba;
  c.kind = BootImageKind::other;
  if (e.media != 0) {
    c.detail = fmt::format(
        "the El Torito BIOS image at block {} uses {} emulation; only no-emulation isolinux and "
        "GRUB images can be started by a hybrid MBR",
        e.load_rba, e.media == 4 ? "hard-disk" : "floppy");
    return c;
  }
  const std::uint64_t at = std::uint64_t{e.load_rba} * kBlock;
  if (e.load_rba < 17 || !range_inside(at, kBlock, iso.size())) {
    c.detail = fmt::format(
        "the El Torito BIOS image at block {} does not lie inside the ISO's data area (blocks "
        "17..{})",
        e.load_rba, iso.size() / kBlock);
    return c;
  }
  std::array<std::byte, kBlock> head{};
  VDISK_RETURN_IF_ERROR(iso.read_at(at, head));
  const std::span<const std::byte> h(head);

  // isolinux.bin: the hybrid signature at +0x40.
  if (load_le32(h.subspan(kSignatureAt)) == kIsolinuxHybridSignature) {
    c.kind = BootImageKind::isolinux_hybrid;
    VDISK_ASSIGN_OR_RETURN(std::string problem, isolinux_problem(iso, e, h));
    c.usable = problem.empty();
    c.detail = c.usable ? fmt::format(
                              "isolinux.bin at block {} with the hybrid signature "
                              "0x7078c0fb and a valid boot info table",
                              e.load_rba)
                        : fmt::format("isolinux.bin at block {}: {}", e.load_rba, problem);
    return c;
  }

  // GRUB i386-pc-eltorito: cdboot.img, then diskboot.img whose first blocklist entry (start u64,
  // sectors u16, segment u16) ends the sector at +0x1F4.
  if (range_inside(at, kGrubDiskbootOffset + 512, iso.size())) {
    std::array<std::byte, 512> disk{};
    VDISK_RETURN_IF_ERROR(iso.read_at(at + kGrubDiskbootOffset, disk));
    const std::span<const std::byte> d(disk);
    const std::uint64_t start = load_le64(d.subspan(0x1F4));
    const std::uint16_t sectors = load_le16(d.subspan(0x1FC));
    const std::uint16_t segment = load_le16(d.subspan(0x1FE));
    const std::uint64_t patched = std::uint64_t{e.load_rba} * 4 + 5;
    if (segment == kDiskbootSegment && (start == 2 || start == patched)) {
      c.kind = BootImageKind::grub_diskboot;
      c.grub_blocklist_start = start;
      const std::uint64_t rest = at + kGrubDiskbootOffset + 512;
      if (sectors == 0 || !range_inside(rest, std::uint64_t{sectors} * 512,
                                        vdisk::detail::round_up(iso.size(), kBlock).value_or(0))) {
        c.detail = fmt::format(
            "GRUB image at block {}: diskboot.img's blocklist ({} sectors after image offset "
            "2560) does not lie inside the ISO",
            e.load_rba, sectors);
        return c;
      }
      c.usable = true;
      c.detail = fmt::format(
          "GRUB El Torito image at block {} (cdboot.img + diskboot.img, {} more sectors; "
          "blocklist start {})",
          e.load_rba, sectors, start == 2 ? "2, to be patched" : "already patched");
      return c;
    }
  }

  // isolinux.bin without the signature: look for its name in the first bytes.
  const std::uint64_t n = std::min(kIsolinuxSearchBytes, iso.size() - at);
  std::vector<std::byte> buf(static_cast<std::size_t>(n));
  VDISK_RETURN_IF_ERROR(iso.read_at(at, buf));
  const std::string_view text(reinterpret_cast<const char*>(buf.data()), buf.size());
  if (text.find("ISOLINUX") != std::string_view::npos) {
    c.kind = BootImageKind::isolinux_no_signature;
    c.detail = fmt::format(
        "isolinux.bin at block {} has no hybrid signature 0x7078c0fb at +0x40 (isolinux-debug.bin "
        "or syslinux before 3.72 cannot be started from a disk)",
        e.load_rba);
    return c;
  }
  c.detail = fmt::format(
      "the El Torito BIOS image at block {} is neither isolinux.bin nor a GRUB El Torito image; "
      "no known hybrid MBR starts it",
      e.load_rba);
  return c;
}

}  // namespace vdisk::livecd
