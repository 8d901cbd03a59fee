// See disk_boot.h.
#include "boot/disk_boot.h"

#include <algorithm>
#include <array>
#include <cstring>

#include <fmt/format.h>

#include "base/checked.h"
#include "base/endian.h"
#include "boot/esp_fat.h"
#include "gpt/gpt_codec.h"

namespace vdisk::boot {

std::string_view table_kind_name(TableKind kind) noexcept {
  switch (kind) {
    case TableKind::none:
      return "none";
    case TableKind::mbr:
      return "mbr";
    case TableKind::gpt:
      return "gpt";
    case TableKind::hybrid:
      return "hybrid";
  }
  return "unknown";
}

namespace {

using vdisk::detail::checked_add;
using vdisk::detail::checked_mul;
using vdisk::detail::load_le32;
using vdisk::detail::load_le64;
using vdisk::detail::range_inside;

constexpr std::size_t kCodeBytes = 440;  // boot code before the disk signature
constexpr std::size_t kEntries = 446;    // MBR partition entries, 4 x 16 bytes
// GRUB's boot.img (GRUB 2.06, boot.S of the i386-pc platform): the LE64 sector of the core
// image's first sector (diskboot.img) at 0x5C, and its messages, which identify it.
constexpr std::size_t kGrubKernelSector = 0x5C;
// boot_hybrid.img, the same code built for isohybrid ISOs (grub-mkrescue, xorriso --grub2-mbr),
// keeps that sector at 0x1B0 instead (docs/livecd.md §2, §4).
constexpr std::size_t kGrubHybridKernelSector = 0x1B0;
constexpr std::string_view kGrubMessages{"GRUB \0Geom\0Hard Disk\0Read\0 Error", 32};
// diskboot.img (GRUB 2.06, diskboot.S) prints "loading" while it reads the rest of core.img.
constexpr std::string_view kDiskbootMessage{"loading\0", 8};

bool contains(std::span<const std::byte> bytes, std::string_view needle) {
  const auto* b = reinterpret_cast<const char*>(bytes.data());
  return std::string_view(b, bytes.size()).find(needle) != std::string_view::npos;
}

std::string guid_text(const std::array<std::uint8_t, 16>& g) {
  return fmt::format(
      "{:02x}{:02x}{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-"
      "{:02x}{:02x}{:02x}{:02x}{:02x}{:02x}",
      g[3], g[2], g[1], g[0], g[5], g[4], g[7], g[6], g[8], g[9], g[10], g[11], g[12], g[13], g[14],
      g[15]);
}

class Reader {
 public:
  explicit Reader(const BlockSource& disk) : disk_(disk) {}
  // False when the range lies outside the disk; an I/O error is kept and also returns false.
  bool read(std::uint64_t offset, std::span<std::byte> dst) {
    if (!range_inside(offset, dst.size(), disk_.size())) return false;
    if (Status s = disk_.read(offset, dst); !s.ok()) {
      if (error_.ok()) error_ = s;
      return false;
    }
    return true;
  }
  ReadAt fn() {
    return [this](std::uint64_t offset, std::span<std::byte> dst) { return read(offset, dst); };
  }
  const Status& error() const { return error_; }

 private:
  const BlockSource& disk_;
  Status error_;
};

void read_sector0(Reader& r, DiskBootFacts& f) {
  std::array<std::byte, 512> s{};
  if (!r.read(0, s)) return;
  f.mbr_signature = s[510] == std::byte{0x55} && s[511] == std::byte{0xAA};
  if (!f.mbr_signature) return;
  f.mbr_code =
      std::any_of(s.begin(), s.begin() + kCodeBytes, [](std::byte b) { return b != std::byte{0}; });
  f.mbr_table = true;
  for (int i = 0; i < 4; ++i) {
    const auto e = std::span(s).subspan(kEntries + 16 * static_cast<std::size_t>(i), 16);
    const auto status = static_cast<std::uint8_t>(e[0]);
    if (status != 0x00 && status != 0x80) f.mbr_table = false;
  }
  if (!f.mbr_table) return;
  for (int i = 0; i < 4; ++i) {
    const auto e = std::span(s).subspan(kEntries + 16 * static_cast<std::size_t>(i), 16);
    MbrEntry m;
    m.index = i + 1;
    m.active = e[0] == std::byte{0x80};
    m.type = static_cast<std::uint8_t>(e[4]);
    m.start_lba = load_le32(e.subspan(8));
    m.sectors = load_le32(e.subspan(12));
    if (m.type == 0 || m.sectors == 0) continue;
    f.active_partition = f.active_partition || m.active;
    f.mbr_partitions.push_back(m);
  }
  if (f.mbr_code && contains(std::span(s).first(kCodeBytes), kGrubMessages)) {
    f.boot_code = "grub";
    f.grub_core_lba = load_le64(std::span(s).subspan(kGrubKernelSector));
    f.grub_hybrid_core_lba = load_le64(std::span(s).subspan(kGrubHybridKernelSector));
  } else if (f.mbr_code) {
    f.boot_code = "other";
  }
}

void read_gpt(Reader& r, DiskBootFacts& f) {
  std::vector<std::byte> sector(4096);
  for (std::uint32_t lba_size : {512u, 4096u}) {
    const auto s = std::span(sector).first(lba_size);
    if (!r.read(lba_size, s) || !gpt::has_signature(s)) continue;
    f.gpt_present = true;
    f.gpt_lba_size = lba_size;
    auto h = gpt::decode_header(s, 1, lba_size, f.disk_bytes / lba_size);
    if (!h.ok()) {
      f.gpt_problem = h.status().message();
      return;
    }
    const auto at = checked_mul(h->entries_lba, lba_size);
    if (!at || !range_inside(*at, h->array_bytes(), f.disk_bytes)) {
      f.gpt_problem =
          fmt::format("gpt: entry array at LBA {} lies outside the disk", h->entries_lba);
      return;
    }
    std::vector<std::byte> array(static_cast<std::size_t>(h->array_bytes()));  // <= 4 MiB
    if (!r.read(*at, array)) {
      f.gpt_problem = fmt::format("gpt: entry array at byte {} could not be read", *at);
      return;
    }
    auto entries = gpt::decode_entries(array, *h, *at);
    if (!entries.ok()) {
      f.gpt_problem = entries.status().message();
      return;
    }
    f.gpt_valid = true;
    for (const gpt::Entry& e : *entries)
      f.gpt_partitions.push_back(GptPartition{static_cast<int>(e.index + 1), guid_text(e.type_guid),
                                              e.first_lba, e.last_lba, e.attributes});
    return;
  }
}

void classify_table(DiskBootFacts& f) {
  const bool other_mbr = std::any_of(f.mbr_partitions.begin(), f.mbr_partitions.end(),
                                     [](const MbrEntry& m) { return m.type != kMbrProtective; });
  if (f.gpt_present)
    f.table = f.gpt_valid && other_mbr ? TableKind::hybrid : TableKind::gpt;
  else if (!f.mbr_partitions.empty())
    f.table = TableKind::mbr;
}

// Where GRUB's core image sector lies, in words.
void locate_grub_core(Reader& r, DiskBootFacts& f) {
  if (f.boot_code != "grub") return;
  auto holds_diskboot = [&r](std::uint64_t sector) {
    std::array<std::byte, 512> s{};
    const auto at = checked_mul(sector, 512);
    return sector != 0 && at && r.read(*at, s) && contains(s, kDiskbootMessage);
  };
  f.grub_core_found = holds_diskboot(f.grub_core_lba);
  if (!f.grub_core_found && holds_diskboot(f.grub_hybrid_core_lba)) {
    f.grub_core_found = true;
    f.grub_core_lba = f.grub_hybrid_core_lba;
    f.boot_code = "grub-hybrid";
  }
  const std::uint64_t lba = f.grub_core_lba;
  if (f.gpt_valid) {
    for (const GptPartition& p : f.gpt_partitions) {
      const std::uint64_t first = p.first_lba * (f.gpt_lba_size / 512);
      const std::uint64_t last = (p.last_lba + 1) * (f.gpt_lba_size / 512) - 1;
      if (lba < first || lba > last) continue;
      f.grub_core_where = p.type_guid == kBiosBootType
                              ? fmt::format("BIOS boot partition (gpt partition {})", p.index)
                              : fmt::format("inside gpt partition {}", p.index);
      return;
    }
  }
  std::uint64_t first_start = f.disk_bytes / 512;
  for (const MbrEntry& m : f.mbr_partitions) {
    if (m.type == kMbrProtective) continue;
    if (lba >= m.start_lba && lba - m.start_lba < m.sectors) {
      f.grub_core_where = fmt::format("inside mbr partition {}", m.index);
      return;
    }
    first_start = std::min<std::uint64_t>(first_start, m.start_lba);
  }
  if (f.gpt_valid)  // the GPT's own sectors come first: LBA 1 and the entry array
    f.grub_core_where = fmt::format("LBA {}, outside every partition", lba);
  else if (lba >= 1 && lba < first_start)
    f.grub_core_where =
        fmt::format("the gap after the MBR (LBA {} of 1..{})", lba, first_start - 1);
  else
    f.grub_core_where = fmt::format("LBA {}, outside every partition", lba);
}

void find_esp(Reader& r, DiskBootFacts& f) {
  const ReadAt read = r.fn();
  std::string without_fat;
  auto try_range = [&](bool in_gpt, std::uint64_t first, std::uint64_t count, std::uint64_t unit,
                       std::string where) {
    const auto off = checked_mul(first, unit);
    const auto len = checked_mul(count, unit);
    if (!off || !len || !range_inside(*off, *len, f.disk_bytes)) {
      if (without_fat.empty()) without_fat = where + " lies outside the disk";
      return false;
    }
    if (!looks_like_fat(read, *off)) {
      if (without_fat.empty()) without_fat = where + " holds no FAT file system";
      return false;
    }
    f.esp = true;
    f.esp_in_gpt = in_gpt;
    f.esp_where = std::move(where);
    f.esp_loader = find_efi_loader(read, *off, *len);
    return true;
  };
  if (f.gpt_valid)
    for (const GptPartition& p : f.gpt_partitions)
      if (p.type_guid == kEspType &&
          try_range(true, p.first_lba, p.last_lba - p.first_lba + 1, f.gpt_lba_size,
                    fmt::format("gpt partition {} (LBAs {}..{} of {} bytes)", p.index, p.first_lba,
                                p.last_lba, f.gpt_lba_size)))
        return;
  for (const MbrEntry& m : f.mbr_partitions)
    if (m.type == kMbrEsp &&
        try_range(false, m.start_lba, m.sectors, 512,
                  fmt::format("mbr partition {} (type 0xef, LBA {}, {} sectors)", m.index,
                              m.start_lba, m.sectors)))
      return;
  if (!without_fat.empty()) f.esp_where = "the EFI system partition " + without_fat;
}

void verdicts(DiskBootFacts& f) {
  const std::string sector_note =
      f.gpt_lba_size == 4096
          ? "; the GPT uses 4096-byte LBAs, so firmware that reads 512-byte sectors (every "
            "cloud's) finds no GPT"
          : "";
  // BIOS: the firmware runs sector 0's code; GRUB's boot.img then reads the core image.
  if (f.disk_bytes < 512) {
    f.bios_reason = "the disk is smaller than one sector";
  } else if (!f.mbr_signature) {
    f.bios_reason = "sector 0 has no 55 AA boot signature";
  } else if (!f.mbr_code) {
    f.bios_reason = "the MBR boot code area (bytes 0..439) is all zero";
  } else if (f.boot_code.starts_with("grub")) {
    f.bios = f.grub_core_found;
    f.bios_reason =
        f.grub_core_found
            ? fmt::format("GRUB's {} in the MBR loads its core image from {}",
                          f.boot_code == "grub" ? "boot.img" : "boot_hybrid.img (isohybrid)",
                          f.grub_core_where)
            : fmt::format(
                  "GRUB's boot.img in the MBR points at LBA {} ({}), which does not "
                  "hold GRUB's core image (diskboot.img)",
                  f.grub_core_lba, f.grub_core_where);
  } else {
    f.bios = true;
    f.bios_reason = f.mbr_table ? "MBR boot code is present (not GRUB's boot.img); what it "
                                  "loads was not verified"
                                : "sector 0 holds boot code but no partition table (a file "
                                  "system's boot sector); what it loads was not verified";
    if (f.mbr_table && !f.active_partition && f.table == TableKind::mbr)
      f.bios_reason +=
          "; no partition is marked active, which MBR code that starts the active "
          "partition needs";
  }
  if (f.bios && f.gpt_lba_size == 4096) f.bios_reason += "; the GPT uses 4096-byte LBAs";
  // UEFI: the firmware looks for an ESP holding the default loader (a new VM has no boot entry).
  if (f.esp && f.esp_loader == "\\EFI\\BOOT\\BOOTX64.EFI") {
    f.uefi = true;
    f.uefi_reason = fmt::format("the EFI system partition, {}, holds the default loader {}{}",
                                f.esp_where, f.esp_loader, sector_note);
  } else if (f.esp && !f.esp_loader.empty()) {
    f.uefi_reason = fmt::format(
        "the EFI system partition, {}, holds {}, not the x86-64 loader "
        "\\EFI\\BOOT\\BOOTX64.EFI",
        f.esp_where, f.esp_loader);
  } else if (f.esp) {
    f.uefi_reason = fmt::format(
        "the EFI system partition, {}, has no \\EFI\\BOOT\\BOOTX64.EFI, which firmware without a "
        "boot entry (a new VM) needs (install the loader there, e.g. grub-install --removable)",
        f.esp_where);
  } else if (f.gpt_present && !f.gpt_valid) {
    f.uefi_reason = "the GPT is invalid: " + f.gpt_problem;
  } else if (!f.esp_where.empty()) {
    f.uefi_reason = f.esp_where;
  } else {
    f.uefi_reason =
        "no EFI system partition (GPT type C12A7328-F81F-11D2-BA4B-00A0C93EC93B or "
        "MBR type 0xef)";
  }
  f.data_disk = !f.mbr_code && !f.esp;
  if (f.data_disk)
    f.summary = "data disk: no boot code and no EFI system partition";
  else if (f.bios && f.uefi)
    f.summary = "boots under BIOS and UEFI";
  else if (f.bios)
    f.summary = "boots under BIOS only";
  else if (f.uefi)
    f.summary = "boots under UEFI only";
  else
    f.summary = "does not boot: has boot structures, but neither BIOS nor UEFI can start them";
}

}  // namespace

Result<DiskBootFacts> read_disk_boot(const BlockSource& disk) {
  DiskBootFacts f;
  f.disk_bytes = disk.size();
  Reader r(disk);
  read_sector0(r, f);
  read_gpt(r, f);
  classify_table(f);
  locate_grub_core(r, f);
  find_esp(r, f);
  VDISK_RETURN_IF_ERROR(r.error());
  verdicts(f);
  return f;
}

void describe_disk_boot(const DiskBootFacts& f, Properties& out) {
  out.add("partition_table", table_kind_name(f.table));
  auto& m = out.add_object("mbr");
  m.add("signature", f.mbr_signature);
  m.add("boot_code", f.mbr_code);
  m.add("boot_loader", f.boot_code.empty() ? std::string_view("none") : f.boot_code);
  m.add("partition_table", f.mbr_table);
  m.add("active_partition", f.active_partition);
  m.add_list("partitions");
  for (const MbrEntry& e : f.mbr_partitions)
    m.add_list_item("partitions")
        .add("index", e.index)
        .add("active", e.active)
        .add("type", fmt::format("0x{:02x}", e.type))
        .add("start_lba", std::uint64_t{e.start_lba})
        .add("sectors", std::uint64_t{e.sectors});
  auto& g = out.add_object("gpt");
  g.add("present", f.gpt_present);
  g.add("valid", f.gpt_valid);
  if (f.gpt_present) g.add("lba_size", std::uint64_t{f.gpt_lba_size});
  if (!f.gpt_problem.empty()) g.add("problem", f.gpt_problem);
  g.add_list("partitions");
  for (const GptPartition& p : f.gpt_partitions)
    g.add_list_item("partitions")
        .add("index", p.index)
        .add("type_guid", p.type_guid)
        .add("role", p.type_guid == kEspType        ? "esp"
                     : p.type_guid == kBiosBootType ? "bios_boot"
                                                    : "other")
        .add("first_lba", p.first_lba)
        .add("last_lba", p.last_lba);
  if (f.boot_code.starts_with("grub")) {
    auto& c = out.add_object("grub_core");
    c.add("lba", f.grub_core_lba);
    c.add("where", f.grub_core_where);
    c.add("found", f.grub_core_found);
  }
  if (f.esp) {
    auto& e = out.add_object("esp");
    e.add("where", f.esp_where);
    e.add("loader", f.esp_loader);
  }
  out.add("bios_bootable", f.bios);
  out.add("bios_reason", f.bios_reason);
  out.add("uefi_bootable", f.uefi);
  out.add("uefi_reason", f.uefi_reason);
  out.add("data_disk", f.data_disk);
  out.add("summary", f.summary);
}

}  // namespace vdisk::boot
