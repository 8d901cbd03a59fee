// `vdconvert check --for aws`: what AWS VM Import/Export (`aws ec2 import-image`,
// `import-snapshot`) takes as a disk (docs/boot.md, "Check rules"): an image format it reads
// (raw, VHD, stream-optimized VMDK), a volume EBS can hold, and the boot rules every cloud
// shares (boot/boot_check.h), with the option to pass (`--boot-mode`).
#include <fmt/format.h>

#include "base/checked.h"
#include "boot/boot_check.h"
#include "contract/check_rules.h"
#include "contract/machines.h"
#include "vdisk/image.h"

namespace vdisk::detail {
namespace {

Result<CheckReport> check_aws(std::unique_ptr<RandomAccessFile> file,
                              const std::filesystem::path& path, const std::string& display,
                              std::string_view, const CheckOptions&) {
  CheckReport report;
  report.target = "aws";
  report.path = display;
  auto add = [&report](std::string id, std::string rule, bool passed, std::string detail) {
    report.items.push_back({std::move(rule), passed, std::move(detail)});
    report.items.back().id = std::move(id);
  };
  const MachineFacts* m = find_machine("aws");
  if (!m) return internal_error("aws: no machine row");

  auto source = open_image(std::move(file), path);
  if (!source.ok()) {
    if (source.status().code() == Errc::io_error || source.status().code() == Errc::not_found)
      return source.status();
    add("aws.format", "image is raw, VHD or stream-optimized VMDK", false,
        source.status().message());
    return report;
  }
  const BlockSource& disk = **source;
  const std::string format(disk.format());
  const Properties props = describe(disk);
  const std::string create_type = props.get("create_type");
  const bool format_ok =
      format == "raw" || format == "vhd" || (format == "vmdk" && create_type == "streamOptimized");
  add("aws.format", "image is raw, VHD or stream-optimized VMDK", format_ok,
      format == "vmdk" ? fmt::format("vmdk, createType \"{}\"{}", create_type,
                                     format_ok ? "" : " (convert with --to vmdk: streamOptimized)")
                       : format);
  const std::uint64_t size = disk.size();
  add("aws.volume_size", "virtual size is at most 16 TiB (an EBS volume's limit)",
      size > 0 && size <= m->max_boot_disk_bytes, fmt::format("{} bytes", size));

  VDISK_ASSIGN_OR_RETURN(const boot::DiskBootFacts facts, boot::read_disk_boot(disk));
  boot::add_boot_rules(report, *m, facts);
  return report;
}

}  // namespace

const CheckRuleSet& aws_rules() {
  static const CheckRuleSet r{"aws", "", check_aws};
  return r;
}

}  // namespace vdisk::detail
