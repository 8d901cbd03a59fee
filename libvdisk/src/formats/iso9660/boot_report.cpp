// The boot report: will this ISO boot when its bytes become a disk (docs/livecd.md; protective MBR
// and GPT: UEFI 2.10 §5.2-5.3)? BIOS firmware boots a disk from its MBR code only. UEFI firmware
// boots a disk from an EFI system partition; EDK2/OVMF also boots the El Torito EFI image of a disk
// without one (its partition driver reads El Torito catalogs on 512-byte media), but cloud firmware
// (Azure Gen2, GCP) is not known to, so the report counts only an ESP.
#include <algorithm>

#include <fmt/format.h>

#include "formats/iso9660/boot_records.h"
#include "formats/iso9660/iso_records.h"
#include "formats/iso9660/livecd/boot_image.h"
#include "base/checked.h"
#include "vdisk/iso9660.h"

namespace vdisk::iso9660 {

std::string_view isohybrid_kind_name(IsohybridKind kind) noexcept {
  switch (kind) {
    case IsohybridKind::none:
      return "none";
    case IsohybridKind::syslinux:
      return "syslinux";
    case IsohybridKind::syslinux_uefi:
      return "syslinux+uefi";
    case IsohybridKind::grub2:
      return "grub2";
    case IsohybridKind::protective_gpt:
      return "protective-gpt-only";
    case IsohybridKind::other:
      return "other";
  }
  return "unknown";
}

namespace {

using namespace detail;
using vdisk::detail::range_inside;

constexpr std::uint64_t kMaxConfigBytes = 1u << 20;
constexpr std::uint8_t kMbrEfi = 0xEF, kMbrProtective = 0xEE;

void read_gpt(const RandomAccessFile& f, BootReport& r) {
  if (f.size() < 1024) return;
  std::array<std::byte, 512> s{};
  if (!f.read_at(512, s).ok()) return;
  if (std::string_view(reinterpret_cast<const char*>(s.data()), 8) != "EFI PART") return;
  r.gpt_present = true;
  auto h = decode_gpt_header(s, 512);
  if (!h.ok()) {
    r.gpt_problem = h.status().message();
    return;
  }
  const std::uint64_t bytes = std::uint64_t{h->entry_count} * h->entry_size;
  const auto off = vdisk::detail::checked_mul(h->entries_lba, 512);
  if (!off || !range_inside(*off, bytes, f.size())) {
    r.gpt_problem =
        fmt::format("gpt: entry array at LBA {} lies outside the image", h->entries_lba);
    return;
  }
  std::vector<std::byte> array(static_cast<std::size_t>(bytes));
  if (Status s2 = f.read_at(*off, array); !s2.ok()) {
    r.gpt_problem = s2.message();
    return;
  }
  auto parts = decode_gpt_entries(*h, array, *off);
  if (!parts.ok()) {
    r.gpt_problem = parts.status().message();
    return;
  }
  r.gpt_valid = true;
  r.gpt_partitions = std::move(*parts);
}

// An ESP must hold a FAT file system: its boot sector ends 55 AA and names FAT.
bool looks_like_fat(const RandomAccessFile& f, std::uint64_t offset) {
  std::array<std::byte, 512> s{};
  if (!range_inside(offset, s.size(), f.size()) || !f.read_at(offset, s).ok()) return false;
  if (s[510] != std::byte{0x55} || s[511] != std::byte{0xAA}) return false;
  const std::string_view a(reinterpret_cast<const char*>(s.data()) + 54, 3);
  const std::string_view b(reinterpret_cast<const char*>(s.data()) + 82, 3);
  return a == "FAT" || b == "FAT";
}

void find_esp(const RandomAccessFile& f, BootReport& r) {
  if (r.gpt_valid) {
    for (const auto& p : r.gpt_partitions) {
      if (!p.esp) continue;
      const auto off = vdisk::detail::checked_mul(p.first_lba, 512);
      if (off && looks_like_fat(f, *off)) {
        r.esp_present = true;
        r.esp_where =
            fmt::format("gpt partition {} (LBA {}..{})", p.index, p.first_lba, p.last_lba);
        const std::uint64_t sectors = p.last_lba >= p.first_lba ? p.last_lba - p.first_lba + 1 : 0;
        r.esp_loader = find_efi_loader(f, *off, sectors * 512);
        return;
      }
    }
  }
  for (const auto& p : r.mbr_partitions) {
    if (p.type != kMbrEfi) continue;
    if (looks_like_fat(f, std::uint64_t{p.start_lba} * 512)) {
      r.esp_present = true;
      r.esp_where =
          fmt::format("mbr partition {} (LBA {}, {} sectors)", p.index, p.start_lba, p.sectors);
      r.esp_loader =
          find_efi_loader(f, std::uint64_t{p.start_lba} * 512, std::uint64_t{p.sectors} * 512);
      return;
    }
  }
}

void classify(BootReport& r) {
  const ElToritoEntry* bios = nullptr;
  for (const auto& e : r.entries)
    if (e.platform == 0 && e.bootable && e.media == 0) {
      bios = &e;
      break;
    }
  const bool protective =
      std::any_of(r.mbr_partitions.begin(), r.mbr_partitions.end(),
                  [](const MbrPartition& p) { return p.type == kMbrProtective; });
  bool syslinux = false, grub = false;
  if (bios && r.mbr_signature && r.mbr_code_present) {
    syslinux = r.mbr_boot_lba == std::uint64_t{bios->load_rba} * 4;
    grub = r.mbr_boot_lba == std::uint64_t{bios->load_rba} * 4 + 4;
  }
  if (syslinux)
    r.isohybrid = r.esp_present ? IsohybridKind::syslinux_uefi : IsohybridKind::syslinux;
  else if (grub)
    r.isohybrid = IsohybridKind::grub2;
  else if (r.mbr_signature && r.mbr_code_present)
    r.isohybrid = IsohybridKind::other;
  else if (r.mbr_signature && (protective || r.gpt_present))
    r.isohybrid = IsohybridKind::protective_gpt;

  // BIOS: firmware runs the MBR code; without code, or without 55 AA, nothing boots.
  if (!r.mbr_signature) {
    r.bios_reason =
        "sector 0 has no 55 AA boot signature (El Torito alone only boots from optical media)";
  } else if (!r.mbr_code_present) {
    r.bios_reason = "the MBR boot code area (bytes 0..439) is all zero";
  } else if (syslinux || grub) {
    r.bios_bootable_as_disk = true;
    r.bios_reason = fmt::format("{} isohybrid MBR loads the El Torito BIOS image at block {}",
                                syslinux ? "syslinux" : "GRUB2", bios->load_rba);
  } else {
    r.bios_bootable_as_disk = true;
    r.bios_reason =
        "MBR boot code is present but is not a recognised isohybrid loader; "
        "what it loads was not verified";
  }
  if (!r.bios_bootable_as_disk && r.bios_image != BootImageKind::none)
    r.bios_reason +=
        r.bios_image_hybridizable
            ? "; vdconvert --boot hybrid can write a hybrid MBR for it: " + r.bios_image_detail
            : "; no hybrid MBR can start its El Torito image: " + r.bios_image_detail;
  // UEFI: firmware looks for an ESP (GPT ESP type or MBR type 0xEF) holding FAT.
  if (r.esp_present && !r.esp_loader.empty()) {
    r.uefi_bootable_as_disk = true;
    r.uefi_reason = fmt::format(
        "EFI system partition with a FAT file system: {}, holding the "
        "default loader {}",
        r.esp_where, r.esp_loader);
  } else if (r.esp_present) {
    r.uefi_reason = fmt::format(
        "EFI system partition {} has no default loader "
        "\\EFI\\BOOT\\BOOTX64.EFI (or BOOTAA64/BOOTIA32.EFI), which "
        "firmware needs on a disk without boot entries",
        r.esp_where);
  } else if (r.gpt_present && !r.gpt_valid) {
    r.uefi_reason = "the GPT is invalid: " + r.gpt_problem;
  } else {
    r.uefi_reason =
        r.efi_eltorito_image
            ? fmt::format(
                  "no EFI system partition in the system area; the El Torito EFI image (block "
                  "{}) serves optical media, and EDK2/OVMF also boots it from a disk, but "
                  "Azure Gen2 and GCP firmware are not known to (vdconvert --boot hybrid adds a "
                  "GPT EFI system partition over it when it is a FAT image holding the default "
                  "loader)",
                  r.efi_image_rba)
            : "no EFI system partition in the system area";
  }
}

std::string decode_label(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size() && s[i + 1] == 'x') {
      const std::string hex(s.substr(i + 2, 2));
      char* end = nullptr;
      const long v = std::strtol(hex.c_str(), &end, 16);
      if (end == hex.c_str() + 2) {
        out += static_cast<char>(v);
        i += 3;
        continue;
      }
    }
    out += s[i];
  }
  return out;
}

void detect_livecd(const Volume& v, LiveCdInfo& live) {
  for (const char* path : {"LiveOS/squashfs.img", "squashfs.img"}) {
    auto e = v.lookup(path);
    if (!e.ok() || e->type != EntryType::file) continue;
    live.squashfs_path = path;
    live.squashfs_size = e->size;
    auto f = v.open_file(*e);
    std::array<std::byte, 4> magic{};
    if (f.ok() && (*f)->size() >= 4 && (*f)->read_at(0, magic).ok())
      live.squashfs_magic =
          std::string_view(reinterpret_cast<const char*>(magic.data()), 4) == "hsqs";
    break;
  }
  for (const char* path : {"isolinux/isolinux.cfg", "boot/grub2/grub.cfg", "EFI/BOOT/grub.cfg",
                           "boot/grub/grub.cfg", "syslinux/syslinux.cfg"}) {
    auto e = v.lookup(path);
    if (!e.ok() || e->type != EntryType::file || e->size > kMaxConfigBytes) continue;
    auto f = v.open_file(*e);
    if (!f.ok()) continue;
    std::string text(static_cast<std::size_t>((*f)->size()), '\0');
    if (!(*f)->read_at(0, std::as_writable_bytes(std::span(text))).ok()) continue;
    constexpr std::string_view kKey = "root=live:CDLABEL=";
    const auto k = text.find(kKey);
    if (k == std::string::npos) continue;
    const auto start = k + kKey.size();
    auto end = text.find_first_of(" \t\r\n", start);
    if (end == std::string::npos) end = text.size();
    live.config_file = path;
    live.cdlabel = decode_label(std::string_view(text).substr(start, end - start));
    live.cdlabel_matches_volume_id = live.cdlabel == v.info().volume_id;
    break;
  }
  live.detected = !live.squashfs_path.empty() && live.squashfs_magic;
}

}  // namespace

Result<BootReport> boot_report(const RandomAccessFile& image, const Volume* volume,
                               bool live_layout) {
  BootReport r;
  if (image.size() >= 512) {
    std::array<std::byte, 512> s0{};
    VDISK_RETURN_IF_ERROR(image.read_at(0, s0));
    const Mbr m = decode_mbr(s0);
    r.mbr_signature = m.signature;
    r.mbr_code_present = m.code_present;
    r.mbr_boot_lba = m.boot_lba;
    r.mbr_partitions = m.partitions;
  }
  read_gpt(image, r);
  find_esp(image, r);
  if (volume && volume->info().el_torito) {
    r.el_torito = true;
    r.catalog_block = volume->info().boot_catalog_block;
    const std::uint64_t off = std::uint64_t{r.catalog_block} * kBlockSize;
    std::vector<std::byte> cat(kBlockSize);
    if (!range_inside(off, kBlockSize, image.size())) {
      r.el_torito_problem =
          fmt::format("boot catalog block {} lies outside the image", r.catalog_block);
    } else {
      VDISK_RETURN_IF_ERROR(image.read_at(off, cat));
      auto entries = decode_boot_catalog(cat, off);
      if (entries.ok())
        r.entries = std::move(*entries);
      else
        r.el_torito_problem = entries.status().message();
    }
  }
  if (const auto* bios = livecd::bios_entry(r.entries)) {
    VDISK_ASSIGN_OR_RETURN(livecd::BiosImageClass c, livecd::classify_bios_image(image, *bios));
    r.bios_image = c.kind;
    r.bios_image_hybridizable = c.usable;
    r.bios_image_detail = c.detail;
  }
  if (const auto* efi = livecd::efi_entry(r.entries)) {
    r.efi_eltorito_image = true;
    r.efi_image_rba = efi->load_rba;
  }
  classify(r);
  if (volume && live_layout) detect_livecd(*volume, r.livecd);
  return r;
}

void describe_volume(const VolumeInfo& i, Properties& out) {
  out.add("volume_id", i.volume_id);
  out.add("system_id", i.system_id);
  if (!i.publisher_id.empty()) out.add("publisher_id", i.publisher_id);
  if (!i.preparer_id.empty()) out.add("preparer_id", i.preparer_id);
  if (!i.application_id.empty()) out.add("application_id", i.application_id);
  out.add("volume_blocks", i.volume_blocks);
  out.add("block_size", i.block_size);
  if (i.creation_time) out.add("creation_time", format_time_utc(*i.creation_time));
  out.add("rock_ridge", i.rock_ridge);
  if (!i.rock_ridge_id.empty()) out.add("rock_ridge_id", i.rock_ridge_id);
  out.add("joliet_level", i.joliet_level);
  out.add("names", name_source_name(i.names));
  if (!i.application_use.empty() && i.application_use.find("ISO MD5SUM") != std::string::npos)
    out.add("implanted_md5", true);
}

void describe_boot_report(const BootReport& r, Properties& out) {
  Properties& et = out.add_object("el_torito");
  et.add("present", r.el_torito);
  if (r.el_torito) et.add("catalog_block", r.catalog_block);
  if (!r.el_torito_problem.empty()) et.add("problem", r.el_torito_problem);
  for (const auto& e : r.entries) {
    Properties& p = et.add_list_item("entries");
    p.add("platform", e.platform == 0      ? "bios"
                      : e.platform == 0xEF ? "uefi"
                      : e.platform == 1    ? "powerpc"
                      : e.platform == 2    ? "mac"
                                           : "unknown");
    p.add("bootable", e.bootable);
    p.add("media", e.media == 0 ? "no-emulation" : e.media == 4 ? "hard-disk" : "floppy");
    p.add("load_rba", e.load_rba);
    p.add("sector_count", unsigned{e.sector_count});
  }
  Properties& sa = out.add_object("system_area");
  sa.add("mbr_signature", r.mbr_signature);
  sa.add("mbr_boot_code", r.mbr_code_present);
  for (const auto& p : r.mbr_partitions) {
    Properties& q = sa.add_list_item("mbr_partitions");
    q.add("index", p.index).add("active", p.active).add("type", fmt::format("0x{:02x}", p.type));
    q.add("start_lba", p.start_lba).add("sectors", p.sectors);
  }
  sa.add("gpt_present", r.gpt_present);
  if (r.gpt_present) sa.add("gpt_valid", r.gpt_valid);
  if (!r.gpt_problem.empty()) sa.add("gpt_problem", r.gpt_problem);
  for (const auto& p : r.gpt_partitions) {
    Properties& q = sa.add_list_item("gpt_partitions");
    q.add("index", p.index).add("type", p.type_guid).add("name", p.name);
    q.add("first_lba", p.first_lba).add("last_lba", p.last_lba).add("esp", p.esp);
  }
  sa.add("esp_present", r.esp_present);
  if (r.esp_present) sa.add("esp", r.esp_where);
  if (r.esp_present) sa.add("esp_loader", r.esp_loader);
  out.add("isohybrid", isohybrid_kind_name(r.isohybrid));
  out.add("bios_image", boot_image_kind_name(r.bios_image));
  if (r.bios_image != BootImageKind::none) {
    out.add("bios_image_hybridizable", r.bios_image_hybridizable);
    out.add("bios_image_detail", r.bios_image_detail);
  }
  out.add("efi_eltorito_image", r.efi_eltorito_image);
  out.add("bios_bootable_as_disk", r.bios_bootable_as_disk);
  out.add("bios_reason", r.bios_reason);
  out.add("uefi_bootable_as_disk", r.uefi_bootable_as_disk);
  out.add("uefi_reason", r.uefi_reason);
  if (r.livecd.detected || !r.livecd.cdlabel.empty()) {
    Properties& l = out.add_object("livecd");
    l.add("detected", r.livecd.detected);
    l.add("squashfs", r.livecd.squashfs_path);
    l.add("squashfs_magic", r.livecd.squashfs_magic);
    l.add("squashfs_size", r.livecd.squashfs_size);
    if (!r.livecd.config_file.empty()) {
      l.add("config", r.livecd.config_file);
      l.add("cdlabel", r.livecd.cdlabel);
      l.add("cdlabel_matches_volume_id", r.livecd.cdlabel_matches_volume_id);
    }
  }
}

}  // namespace vdisk::iso9660
