// `vdconvert check --for azure`: every rule Azure applies to an uploaded VHD, each reported with
// what was found (rule ids: docs/json.md). Sources: Microsoft Learn, "Prepare a Linux VHD for
// Azure" (a fixed VHD, the virtual size a whole MiB) and "Upload a VHD to Azure" (managed-disk
// direct upload: 20 MiB to 32 TiB plus the footer); footer fields: the VHD specification
// (Microsoft, 2006), "Hard Disk Footer Format"; the size qemu reads: qemu block/vpc.c.
#include <fmt/format.h>

#include "base/checked.h"
#include "boot/boot_check.h"
#include "contract/check_rules.h"
#include "contract/machines.h"
#include "formats/vhd/vhd.h"
#include "formats/vhd/vhd_footer.h"

namespace vdisk::vhd {
namespace {

std::string mib_text(std::uint64_t bytes) {
  if (bytes % detail::kMiB == 0)
    return fmt::format("{} bytes = {} MiB", bytes, bytes / detail::kMiB);
  return fmt::format("{} bytes = {} MiB + {} bytes", bytes, bytes / detail::kMiB,
                     bytes % detail::kMiB);
}

}  // namespace

Result<CheckReport> check_azure(const RandomAccessFile& image, const std::string& display) {
  const RandomAccessFile* file = &image;
  CheckReport report;
  report.target = "azure";
  report.path = display;
  auto add = [&report](std::string id, std::string rule, bool passed, std::string detail) {
    report.items.push_back({std::move(rule), passed, std::move(detail)});
    report.items.back().id = std::move(id);
  };

  const std::uint64_t file_size = file->size();
  if (file_size < kFooterSize) {
    add("azure.footer_present", "file holds a 512-byte VHD footer", false,
        fmt::format("file is only {} bytes", file_size));
    return report;
  }
  const std::uint64_t data_size = file_size - kFooterSize;
  add("azure.file_size_whole_mib", "file size is a whole number of MiB plus the 512-byte footer",
      data_size % detail::kMiB == 0,
      fmt::format("{} bytes: data {} + 512-byte footer", file_size, mib_text(data_size)));

  std::array<std::byte, kFooterSize> raw{};
  VDISK_RETURN_IF_ERROR(file->read_at(data_size, raw));
  Result<Footer> decoded = decode_footer(raw, data_size);
  add("azure.footer_cookie", "footer cookie is \"conectix\" (last 512 bytes)", decoded.ok(),
      decoded.ok() ? "found" : decoded.status().message());
  if (!decoded.ok()) return report;
  const Footer& f = *decoded;

  const std::uint32_t want_sum = footer_checksum(raw);
  add("azure.footer_checksum", "footer checksum is valid", f.checksum == want_sum,
      fmt::format("stored 0x{:08x}, computed 0x{:08x}", f.checksum, want_sum));
  add("azure.disk_type_fixed", "disk type is fixed (2)",
      f.disk_type == static_cast<std::uint32_t>(DiskType::fixed),
      fmt::format("disk type {}", f.disk_type));
  add("azure.features_reserved_bit", "features include the reserved bit 0x2",
      (f.features & kFeaturesReserved) != 0, fmt::format("features 0x{:08x}", f.features));
  add("azure.version_1_0", "file format version is 1.0", f.version == kVersion1,
      fmt::format("version 0x{:08x}", f.version));
  add("azure.data_offset_fixed", "data offset is 0xFFFFFFFFFFFFFFFF (fixed disk)",
      f.data_offset == kNoDataOffset, fmt::format("data offset 0x{:016x}", f.data_offset));
  add("azure.current_size_matches_data", "current size equals the data before the footer",
      f.current_size == data_size,
      fmt::format("current size {}, data {}", f.current_size, data_size));
  add("azure.size_whole_mib", "virtual size is a whole number of MiB",
      f.current_size % detail::kMiB == 0, mib_text(f.current_size));
  const SizeRule rule = azure_rule();
  add("azure.size_range", "virtual size is between 20 MiB and 32 TiB",
      f.current_size >= rule.min_size && f.current_size <= rule.max_size, mib_text(f.current_size));
  const std::uint64_t qemu_size = qemu_visible_size(f);
  add("azure.chs_exact_size",
      "readers that use CHS geometry for unknown creators (qemu) see the exact size",
      qemu_size == f.current_size,
      fmt::format("creator \"{}\", geometry {}/{}/{}, size seen {}", f.creator_app_string(),
                  f.geometry.cylinders, f.geometry.heads, f.geometry.sectors, qemu_size));
  // What the disk boots (docs/boot.md), for a fixed VHD, whose data is the disk.
  if (f.disk_type == static_cast<std::uint32_t>(DiskType::fixed)) {
    VDISK_ASSIGN_OR_RETURN(const boot::DiskBootFacts facts, boot::read_disk_boot(*file, data_size));
    if (const detail::MachineFacts* m = detail::find_machine("azure"))
      boot::add_boot_rules(report, *m, facts);
  }
  return report;
}

}  // namespace vdisk::vhd

namespace vdisk::detail {
namespace {
Result<CheckReport> run_azure(std::unique_ptr<RandomAccessFile> file, const std::filesystem::path&,
                              const std::string& display, std::string_view, const CheckOptions&) {
  return vhd::check_azure(*file, display);
}
}  // namespace

const CheckRuleSet& azure_rules() {
  static const CheckRuleSet r{"azure", "", run_azure};
  return r;
}
}  // namespace vdisk::detail
