// plan_hybrid(): what a hybrid disk made from an ISO would boot, and why (see hybrid.h;
// docs/livecd.md §1).
#include <algorithm>
#include <array>
#include <cstring>

#include <fmt/format.h>

#include "checksum/sha256.h"
#include "formats/iso9660/boot_records.h"
#include "formats/iso9660/iso_records.h"
#include "formats/iso9660/livecd/boot_image.h"
#include "formats/iso9660/livecd/hybrid.h"
#include "base/checked.h"
#include "base/endian.h"

namespace vdisk::livecd {

std::string_view bios_loader_name(BiosLoader loader) noexcept {
  switch (loader) {
    case BiosLoader::none:
      return "none";
    case BiosLoader::isolinux:
      return "isolinux";
    case BiosLoader::grub:
      return "grub2";
  }
  return "unknown";
}

std::string_view hybrid_action_name(HybridAction action) noexcept {
  switch (action) {
    case HybridAction::copy_as_is:
      return "copy-as-is";
    case HybridAction::hybridize:
      return "hybridize";
    case HybridAction::impossible:
      return "impossible";
  }
  return "unknown";
}

namespace {

using iso9660::BootImageKind;
using vdisk::detail::range_inside;

constexpr std::uint64_t kBlock = 2048;
constexpr std::uint64_t kGptTailBytes = 33 * 512;  // backup entry array (32 LBAs) + header

// Adapts a borrowed BlockSource to the RandomAccessFile the ISO 9660 reader takes.
class SourceFile final : public RandomAccessFile {
 public:
  explicit SourceFile(const BlockSource& s) : s_(s) {}
  std::uint64_t size() const override { return s_.size(); }
  Status read_at(std::uint64_t offset, std::span<std::byte> dst) const override {
    if (!range_inside(offset, dst.size(), s_.size()))
      return out_of_range(fmt::format("read of {} bytes at {} past the end of {} bytes", dst.size(),
                                      offset, s_.size()));
    return s_.read(offset, dst);
  }
  const std::string& name() const override { return name_; }

 private:
  const BlockSource& s_;
  std::string name_ = "<iso source>";
};

bool is_io_error(const Status& s) {
  return s.code() == Errc::io_error || s.code() == Errc::out_of_range;
}

// The file whose data starts at `offset`, found by walking the tree (stops at the first match).
struct FoundFile {
  bool found = false;
  std::string path;
  iso9660::Entry entry;
};
Result<FoundFile> file_at(const iso9660::Volume& v, std::uint64_t offset) {
  FoundFile out;
  const Status s = v.walk(v.root(), [&](const std::string& path, const iso9660::Entry& e) {
    if (e.type != iso9660::EntryType::file || e.extents.empty() || e.extents[0].offset != offset)
      return ok_status();
    out.found = true;
    out.path = "/" + path;
    out.entry = e;
    return cancelled("found");  // stops the walk
  });
  if (out.found) return out;
  if (!s.ok()) return s;
  return out;
}

// Sizes and checks the El Torito EFI image; `why` gets the reason when it cannot be used.
Result<bool> size_efi_image(const RandomAccessFile& iso, const iso9660::Volume& v,
                            const iso9660::ElToritoEntry& e, EfiImage& efi, std::string& why) {
  efi.present = true;
  efi.rba = e.load_rba;
  const std::uint64_t at = std::uint64_t{e.load_rba} * kBlock;
  if (e.media != 0) {
    why = fmt::format(
        "the El Torito EFI image at block {} uses disk emulation (media {}), "
        "not no-emulation",
        e.load_rba, e.media);
    return false;
  }
  if (e.load_rba < 17 || at >= iso.size()) {
    why = fmt::format(
        "the El Torito EFI image's block {} is outside the ISO's data area "
        "(blocks 17..{})",
        e.load_rba, iso.size() / kBlock);
    return false;
  }
  auto found = file_at(v, at);
  std::string walk_problem;
  if (!found.ok()) {
    if (is_io_error(found.status())) return found.status();
    walk_problem = found.status().message();
  } else if (found->found) {
    const iso9660::Entry& f = found->entry;
    if (f.zisofs) {
      why = fmt::format("the El Torito EFI image {} is stored zisofs-compressed", found->path);
      return false;
    }
    for (std::size_t i = 1; i < f.extents.size(); ++i)
      if (f.extents[i].offset != f.extents[i - 1].offset + f.extents[i - 1].length) {
        why = fmt::format("the El Torito EFI image {} is not contiguous (extent {} at byte {})",
                          found->path, i + 1, f.extents[i].offset);
        return false;
      }
    efi.path = found->path;
    efi.bytes = f.size;
  }
  if (efi.path.empty()) {
    efi.size_from_catalog = true;
    efi.bytes = std::uint64_t{e.sector_count} * 512;
    if (efi.bytes == 0) {
      why = fmt::format(
          "no file record points at the El Torito EFI image (block {}){} and its catalog count "
          "is 0, so its size is unknown",
          e.load_rba, walk_problem.empty() ? "" : " (" + walk_problem + ")");
      return false;
    }
  }
  if (efi.bytes == 0 || !range_inside(at, efi.bytes, iso.size())) {
    why = fmt::format(
        "the El Torito EFI image ({} bytes at block {}) does not lie inside the "
        "ISO ({} bytes)",
        efi.bytes, e.load_rba, iso.size());
    return false;
  }
  efi.loader = iso9660::detail::find_efi_loader(iso, at, efi.bytes);
  if (efi.loader.empty()) {
    why = fmt::format(
        "the El Torito EFI image at block {} is no FAT file system holding "
        "\\EFI\\BOOT\\BOOTX64.EFI (or BOOTAA64/BOOTIA32.EFI)",
        e.load_rba);
    return false;
  }
  // Its PE facts, for Secure Boot (efi_loader.h): at most 64 MiB read (shim and GRUB are a few).
  const auto loader = iso9660::detail::read_efi_loader(iso, at, efi.bytes, efi.loader, 64u << 20);
  efi.loader_facts = classify_efi_loader(loader);
  if (loader.empty()) efi.loader_facts.problem = "the loader's clusters could not be read";
  return true;
}

std::array<std::uint8_t, 32> derive(std::string_view label, std::span<const std::byte> a,
                                    std::span<const std::byte> b) {
  checksum::Sha256 h;
  h.update(std::as_bytes(std::span(label.data(), label.size())));
  h.update(a);
  h.update(b);
  return h.finish();
}

// An RFC 9562 version 8 (custom) UUID from hash bytes, in GPT's byte order (the version nibble
// is the high nibble of the little-endian third field, i.e. of byte 7).
std::array<std::uint8_t, 16> guid_from(const std::array<std::uint8_t, 32>& h) {
  std::array<std::uint8_t, 16> g{};
  std::copy_n(h.begin(), 16, g.begin());
  g[7] = static_cast<std::uint8_t>((g[7] & 0x0F) | 0x80);
  g[8] = static_cast<std::uint8_t>((g[8] & 0x3F) | 0x80);
  return g;
}

Status derive_ids(const RandomAccessFile& iso, std::uint32_t catalog_block, HybridPlan& p) {
  std::vector<std::byte> pvd(kBlock), cat(kBlock);
  VDISK_RETURN_IF_ERROR(iso.read_at(16 * kBlock, pvd));
  const std::uint64_t cat_at = std::uint64_t{catalog_block} * kBlock;
  if (range_inside(cat_at, kBlock, iso.size())) VDISK_RETURN_IF_ERROR(iso.read_at(cat_at, cat));
  const auto sig = derive("vdisk hybrid disk signature", pvd, cat);
  p.disk_signature = vdisk::detail::load_le32(std::as_bytes(std::span(sig)));
  if (p.disk_signature == 0) p.disk_signature = 1;
  p.disk_guid = guid_from(derive("vdisk hybrid disk guid", pvd, cat));
  p.esp_guid = guid_from(derive("vdisk hybrid esp guid", pvd, cat));
  return ok_status();
}

// True when the system area is all zero, or holds only a sector 0 that boot_report recognised as
// an isohybrid MBR for the image we would start (so regenerating it loses nothing).
bool system_area_rewritable(std::span<const std::byte> sa, const iso9660::BootReport& r,
                            bool bios_usable) {
  const bool rest_zero =
      std::all_of(sa.begin() + 512, sa.end(), [](std::byte b) { return b == std::byte{0}; });
  const bool zero0 =
      std::all_of(sa.begin(), sa.begin() + 512, [](std::byte b) { return b == std::byte{0}; });
  if (!rest_zero) return false;
  if (zero0) return true;
  return bios_usable && (r.isohybrid == iso9660::IsohybridKind::syslinux ||
                         r.isohybrid == iso9660::IsohybridKind::grub2);
}

}  // namespace

Result<HybridPlan> plan_hybrid(const RandomAccessFile& iso, const PlanOptions& options) {
  HybridPlan p;
  p.iso_size = iso.size();
  // The volume lives only inside this call; the no-op deleter borrows `iso`.
  std::shared_ptr<const RandomAccessFile> borrowed(&iso, [](const RandomAccessFile*) {});
  auto volume = iso9660::Volume::open(borrowed);
  if (!volume.ok()) {
    if (is_io_error(volume.status())) return volume.status();
    p.refusal = "not a readable ISO 9660 volume: " + volume.status().message();
    p.bios_reason = p.uefi_reason = p.refusal;
    p.summary = "impossible: " + p.refusal;
    return p;
  }
  const iso9660::Volume& v = **volume;
  if (const std::uint64_t space = std::uint64_t{v.info().volume_blocks} * kBlock;
      space > iso.size()) {
    p.refusal = fmt::format(
        "the ISO is truncated: its primary volume descriptor states {} bytes, the image has {}",
        space, iso.size());
    p.bios_reason = p.uefi_reason = p.refusal;
    p.summary = "impossible: " + p.refusal;
    return p;
  }
  VDISK_ASSIGN_OR_RETURN(p.report, iso9660::boot_report(iso, &v, options.live_layout));
  const iso9660::BootReport& r = p.report;

  // BIOS: what the El Torito BIOS image is.
  std::string bios_why;
  bool bios_usable = false;
  if (const auto* e = bios_entry(r.entries)) {
    VDISK_ASSIGN_OR_RETURN(BiosImageClass c, classify_bios_image(iso, *e));
    bios_usable = c.usable;
    bios_why = c.detail;
    if (c.usable) {
      p.bios_loader =
          c.kind == BootImageKind::grub_diskboot ? BiosLoader::grub : BiosLoader::isolinux;
      p.bios_rba = c.rba;
      p.grub_blocklist_patched =
          c.grub_blocklist_start != 2 && c.kind == BootImageKind::grub_diskboot;
    }
  } else if (!r.el_torito) {
    bios_why = "the ISO has no El Torito boot record";
  } else if (!r.el_torito_problem.empty()) {
    bios_why = "the El Torito boot catalog could not be read: " + r.el_torito_problem;
  } else {
    bios_why = "the El Torito catalog has no bootable x86 BIOS entry";
  }

  // UEFI: the El Torito EFI image.
  std::string uefi_why;
  bool uefi_usable = false;
  if (const auto* e = efi_entry(r.entries)) {
    VDISK_ASSIGN_OR_RETURN(uefi_usable, size_efi_image(iso, v, *e, p.efi, uefi_why));
  } else if (!r.el_torito_problem.empty()) {
    uefi_why = "the El Torito boot catalog could not be read: " + r.el_torito_problem;
  } else {
    uefi_why = "the El Torito catalog has no UEFI (platform 0xEF) entry";
  }

  std::vector<std::byte> sa(kSystemAreaBytes);
  const bool have_sa = iso.size() >= kSystemAreaBytes;
  if (have_sa) VDISK_RETURN_IF_ERROR(iso.read_at(0, sa));
  const bool rewritable = have_sa && system_area_rewritable(sa, r, bios_usable);

  auto as_is = [&](std::string note) {
    p.action = HybridAction::copy_as_is;
    p.bios_loader = BiosLoader::none;
    p.bios_boots = r.bios_bootable_as_disk;
    p.bios_reason = r.bios_bootable_as_disk ? r.bios_reason
                    : bios_usable           ? bios_why + "; no MBR written: the system area is kept"
                                            : bios_why;
    p.uefi_boots = r.uefi_bootable_as_disk;
    p.uefi_reason = r.uefi_bootable_as_disk ? r.uefi_reason
                    : uefi_usable ? uefi_why + "; no GPT ESP written: the system area is kept"
                                  : uefi_why;
    p.summary = fmt::format("copy as is: {} (isohybrid: {})", note,
                            iso9660::isohybrid_kind_name(r.isohybrid));
  };
  const bool bios_done = r.bios_bootable_as_disk || !bios_usable;
  const bool uefi_done = r.uefi_bootable_as_disk || !uefi_usable;
  const bool boots_now = r.bios_bootable_as_disk || r.uefi_bootable_as_disk;
  if (boots_now && bios_done && uefi_done) {
    as_is("the ISO already boots as a disk");
    return p;
  }
  if (boots_now && (!rewritable || (r.bios_bootable_as_disk && !bios_usable))) {
    as_is(
        "the ISO already boots as a disk with one firmware; its system area is kept because "
        "rewriting it could lose that");
    return p;
  }
  if (!bios_usable && !uefi_usable) {
    p.action = HybridAction::impossible;
    p.bios_reason = r.bios_bootable_as_disk ? r.bios_reason : bios_why;
    p.uefi_reason = r.uefi_bootable_as_disk ? r.uefi_reason : uefi_why;
    p.refusal = fmt::format("cannot make this ISO boot as a disk: BIOS: {}; UEFI: {}",
                            p.bios_reason, p.uefi_reason);
    p.summary = "impossible: " + p.refusal;
    p.bios_loader = BiosLoader::none;
    return p;
  }
  if (!rewritable) {
    p.action = HybridAction::impossible;
    p.bios_loader = BiosLoader::none;
    p.refusal =
        have_sa ? "the ISO's system area (its first 32 KiB) holds data that is not a recognised "
                  "isohybrid MBR; rewriting it could destroy that data"
                : fmt::format("the ISO is only {} bytes, shorter than its 32 KiB system area",
                              iso.size());
    p.bios_reason = p.uefi_reason = p.refusal;
    p.summary = "impossible: " + p.refusal;
    return p;
  }

  p.action = HybridAction::hybridize;
  if (bios_usable) {
    p.bios_boots = true;
    p.bios_reason =
        p.bios_loader == BiosLoader::isolinux
            ? fmt::format("a syslinux hybrid MBR (isohdpfx.bin) loads isolinux.bin at block {}",
                          p.bios_rba)
            : fmt::format(
                  "GRUB's hybrid MBR (boot_hybrid.img) loads the GRUB El Torito image at "
                  "block {} (diskboot blocklist at +2548 {})",
                  p.bios_rba, p.grub_blocklist_patched ? "already patched" : "patched");
  } else {
    p.bios_reason = bios_why;
  }
  if (uefi_usable) {
    p.write_gpt = true;
    p.uefi_boots = true;
    p.uefi_reason = fmt::format(
        "a GPT EFI system partition covers the El Torito EFI image {} (block {}, {} bytes{}), "
        "which holds {}",
        p.efi.path.empty() ? "" : p.efi.path, p.efi.rba, p.efi.bytes,
        p.efi.size_from_catalog ? ", size from the catalog count: no file record points there"
                                : ", size from its directory record",
        p.efi.loader);
  } else {
    p.uefi_reason = uefi_why;
  }
  const std::uint64_t tail = p.write_gpt ? kGptTailBytes : 0;
  const auto padded = vdisk::detail::round_up(iso.size(), 512);
  const auto with_tail = padded ? vdisk::detail::checked_add(*padded, tail) : std::nullopt;
  const auto size = with_tail ? vdisk::detail::round_up(*with_tail, kHybridAlign) : std::nullopt;
  if (!size) return invalid_argument("livecd: ISO size overflows the hybrid disk size");
  p.disk_size = *size;
  VDISK_RETURN_IF_ERROR(derive_ids(iso, r.catalog_block, p));
  p.summary = fmt::format(
      "hybridize: BIOS {}, UEFI {}; {} bytes",
      p.bios_boots ? "via " + std::string(bios_loader_name(p.bios_loader)) : std::string("no"),
      p.uefi_boots ? "via a GPT ESP" : "no", p.disk_size);
  return p;
}

void describe_hybrid_plan(const HybridPlan& p, Properties& out) {
  out.add("action", hybrid_action_name(p.action));
  out.add("summary", p.summary);
  if (p.action == HybridAction::impossible) out.add("refusal", p.refusal);
  out.add("bios_boots", p.bios_boots);
  out.add("bios_reason", p.bios_reason);
  if (p.action == HybridAction::hybridize) out.add("bios_loader", bios_loader_name(p.bios_loader));
  out.add("uefi_boots", p.uefi_boots);
  out.add("uefi_reason", p.uefi_reason);
  if (p.efi.present) {
    Properties& e = out.add_object("efi_image");
    e.add("block", p.efi.rba);
    e.add("bytes", p.efi.bytes);
    if (!p.efi.path.empty()) e.add("path", p.efi.path);
    e.add("size_from_catalog", p.efi.size_from_catalog);
    if (!p.efi.loader.empty()) {
      e.add("loader", p.efi.loader);
      const EfiLoaderFacts& l = p.efi.loader_facts;
      e.add("loader_secure_boot", describe_efi_loader(l));
      if (l.pe) {
        e.add("loader_machine", efi_machine_name(l.machine));
        e.add("loader_signed", l.signed_image);
        e.add("loader_microsoft_ca", l.microsoft_ca);
        e.add("loader_shim", l.shim);
      }
    }
  }
  if (p.action == HybridAction::hybridize) {
    out.add("gpt", p.write_gpt);
    out.add("disk_size", p.disk_size);
  }
}

Result<HybridPlan> plan_hybrid(const BlockSource& iso, const PlanOptions& options) {
  return plan_hybrid(SourceFile(iso), options);
}

}  // namespace vdisk::livecd
