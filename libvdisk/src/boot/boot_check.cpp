// See boot_check.h.
#include "boot/boot_check.h"

#include <fmt/format.h>

#include "base/checked.h"
#include "boot/cloud_boot.h"

namespace vdisk::boot {
namespace {

using vdisk::detail::MachineFacts;

constexpr std::uint64_t kMbrLimit = 1ull << 41;  // 2^32 sectors of 512 bytes: 2 TiB

// The first `length` bytes of a file as a disk.
class FilePrefix final : public BlockSource {
 public:
  FilePrefix(const RandomAccessFile& f, std::uint64_t length) : f_(f), length_(length) {}
  std::uint64_t size() const override { return length_; }
  Status read(std::uint64_t offset, std::span<std::byte> dst) const override {
    if (!vdisk::detail::range_inside(offset, dst.size(), length_))
      return out_of_range(fmt::format("{}: read of {} bytes at {} past the disk's {} bytes",
                                      f_.name(), dst.size(), offset, length_));
    return f_.read_at(offset, dst);
  }
  std::string_view format() const override { return "raw"; }

 private:
  const RandomAccessFile& f_;
  std::uint64_t length_;
};

// "N bytes (4 TiB)", "(4095 GiB)" for a whole number of GiB, else two decimals of TiB (a limit
// just under a TiB must not read as the TiB above it).
std::string tib_text(std::uint64_t bytes) {
  constexpr std::uint64_t kGiB = 1ull << 30, kTiB = 1ull << 40;
  if (bytes != 0 && bytes % kTiB == 0) return fmt::format("{} bytes ({} TiB)", bytes, bytes / kTiB);
  if (bytes != 0 && bytes % kGiB == 0) return fmt::format("{} bytes ({} GiB)", bytes, bytes / kGiB);
  return fmt::format("{} bytes ({:.2f} TiB)", bytes,
                     static_cast<double>(bytes) / static_cast<double>(kTiB));
}

}  // namespace

Result<DiskBootFacts> read_disk_boot(const RandomAccessFile& file, std::uint64_t length) {
  if (length > file.size())
    return invalid_argument(
        fmt::format("{}: disk of {} bytes in a file of {}", file.name(), length, file.size()));
  const FilePrefix disk(file, length);
  return read_disk_boot(disk);
}

void add_boot_rules(CheckReport& report, const MachineFacts& m, const DiskBootFacts& f) {
  const std::string cloud(m.name);
  auto add = [&](std::string_view rule, std::string statement, bool passed, std::string detail) {
    report.items.push_back({std::move(statement), passed, std::move(detail)});
    report.items.back().id = fmt::format("{}.{}", cloud, rule);
  };
  const CloudBootSetting s = cloud_boot_setting(f, m);
  const bool boot_structures = !f.data_disk;

  // AWS VM Import's own words for a disk without a usable partition table.
  const std::string error_text =
      m.no_partitions_error.empty()
          ? std::string()
          : fmt::format("; {} fails with \"{}\"", m.name, m.no_partitions_error);
  const bool table_ok = !boot_structures || f.table != TableKind::none;
  add("boot_table", "a disk with boot code has an MBR or GPT partition table", table_ok,
      f.data_disk ? "data disk: no boot code, no EFI system partition"
      : table_ok  ? fmt::format("partition table: {}", table_kind_name(f.table))
                  : fmt::format("boot code in sector 0 but no partition table{} (partition the "
                                 "disk: MBR or GPT)",
                                error_text));

  const bool lba_ok = !f.gpt_present || f.gpt_lba_size == 512;
  add("gpt_lba_size", "a GPT uses 512-byte LBAs (the cloud presents 512-byte sectors)", lba_ok,
      !f.gpt_present ? "no GPT"
      : lba_ok       ? "512-byte LBAs"
                     : fmt::format("the GPT uses 4096-byte LBAs: {} reads LBA 1 at byte 512, finds "
                                         "no GPT there, and the disk reads as empty{} (recreate the "
                                         "table with 512-byte LBAs)",
                                   m.name, error_text));

  const bool mbr_only = f.table == TableKind::mbr;
  const bool mbr_ok = !mbr_only || f.disk_bytes <= kMbrLimit;
  add("mbr_size", "a disk partitioned with MBR alone is at most 2 TiB", mbr_ok,
      !mbr_only ? fmt::format("partition table: {}", table_kind_name(f.table))
      : mbr_ok  ? tib_text(f.disk_bytes)
                : fmt::format("{}: MBR entries address 2^32 512-byte sectors, so nothing past 2 "
                               "TiB is usable (convert the table to GPT, e.g. sgdisk --mbrtogpt)",
                              tib_text(f.disk_bytes)));

  if (m.uefi_needs_gpt) {
    const bool mbr_esp_only = f.uefi && !f.bios && !f.esp_in_gpt;
    add("uefi_gpt", "a disk that boots only under UEFI has its EFI system partition in a GPT",
        !mbr_esp_only,
        mbr_esp_only ? fmt::format("{}; {}'s UEFI (Shielded VM) requires a GPT (convert the table "
                                   "to GPT, e.g. sgdisk --mbrtogpt)",
                                   f.esp_where, m.name)
        : f.uefi     ? fmt::format("EFI system partition: {}", f.esp_where)
                     : "does not boot under UEFI");
  }

  const bool verdict_ok = f.data_disk || s.boots;
  add("boot_verdict", "the disk boots under BIOS or UEFI, or is a data disk", verdict_ok,
      f.data_disk ? f.summary
      : s.boots   ? s.reason
                  : fmt::format("{}: {}", f.summary, s.reason));

  // The boot disk limit of the machine's row, lower for a disk that boots under BIOS only where
  // the row says so (Azure Generation 1).
  std::uint64_t limit = m.max_boot_disk_bytes;
  if (s.boots && s.firmware == "bios" && m.max_bios_boot_disk_bytes != 0)
    limit = m.max_bios_boot_disk_bytes;
  const bool size_ok = !s.boots || limit == 0 || f.disk_bytes <= limit;
  add("boot_disk_size", "a boot disk is within the cloud's boot disk limit", size_ok,
      !s.boots  ? "not a boot disk here"
      : size_ok ? fmt::format("{}, limit {}", tib_text(f.disk_bytes), tib_text(limit))
                : fmt::format("{} is above {}'s limit of {} for this boot mode",
                              tib_text(f.disk_bytes), m.name, tib_text(limit)));

  add("boot_setting", fmt::format("the boot setting to pass ({})", m.boot_option), true,
      f.data_disk         ? "none: a data disk"
      : !s.boots          ? "none: the disk does not boot here"
      : s.setting.empty() ? fmt::format("none ({})", s.reason)
                          : fmt::format("{} ({})", s.setting, s.reason));
}

}  // namespace vdisk::boot
