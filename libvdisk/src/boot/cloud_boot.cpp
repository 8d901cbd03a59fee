// See cloud_boot.h.
#include "boot/cloud_boot.h"

#include <fmt/format.h>

namespace vdisk::boot {

using vdisk::detail::MachineFacts;

bool uefi_boots_on(const DiskBootFacts& f, const MachineFacts& m) {
  if (!f.uefi || f.gpt_lba_size == 4096) return false;
  return f.esp_in_gpt || !m.uefi_needs_gpt;
}

bool bios_boots_on(const DiskBootFacts& f, const MachineFacts&) {
  // GRUB's core image addressed in 4096-byte sectors is not read by 512-byte-sector firmware.
  return f.bios && f.gpt_lba_size != 4096;
}

CloudBootSetting cloud_boot_setting(const DiskBootFacts& f, const MachineFacts& m) {
  CloudBootSetting s;
  s.cloud = std::string(m.name);
  if (f.data_disk) {
    s.data_disk = true;
    s.reason = "data disk (no boot code, no EFI system partition): attach it, do not boot it";
    return s;
  }
  const bool bios = bios_boots_on(f, m), uefi = uefi_boots_on(f, m);
  auto with = [&](std::string_view value) {
    if (value.empty()) return std::string();
    return m.boot_option_joined ? fmt::format("{}={}", m.boot_option, value)
                                : fmt::format("{} {}", m.boot_option, value);
  };
  if (!bios && !uefi) {
    if (f.gpt_lba_size == 4096)
      s.reason = fmt::format(
          "the GPT uses 4096-byte LBAs and {} presents 512-byte sectors: the disk reads as if "
          "it had no partition table (recreate the GPT with 512-byte LBAs)",
          m.name);
    else if (f.uefi && m.uefi_needs_gpt)
      s.reason = fmt::format(
          "{}'s UEFI boots only from a GPT EFI system partition, and this one is an MBR "
          "partition (convert the table to GPT, e.g. sgdisk --mbrtogpt)",
          m.name);
    else
      s.reason =
          fmt::format("boots under neither BIOS ({}) nor UEFI ({})", f.bios_reason, f.uefi_reason);
    return s;
  }
  s.boots = true;
  const std::string_view value = bios && uefi ? m.both_value : bios ? m.bios_value : m.uefi_value;
  s.firmware = bios && uefi ? "bios+uefi" : bios ? "bios" : "uefi";
  s.setting = with(value);
  if (bios && uefi)
    s.reason =
        value == m.bios_value ? "boots under BIOS and UEFI"
        : m.bios_value.empty()
            ? std::string("boots under BIOS and UEFI (without the option it boots under BIOS)")
            : fmt::format("boots under BIOS and UEFI ({} also boots it)", with(m.bios_value));
  else if (bios)
    s.reason = f.uefi && !uefi
                   ? fmt::format("boots under BIOS only on {} (its UEFI needs a GPT)", m.name)
                   : "boots under BIOS only";
  else
    s.reason = "boots under UEFI only";
  if (value.empty()) s.reason += "; pass no boot option (the default)";
  return s;
}

std::vector<CloudBootSetting> cloud_boot_settings(const DiskBootFacts& f) {
  std::vector<CloudBootSetting> out;
  for (const MachineFacts& m : vdisk::detail::machines()) out.push_back(cloud_boot_setting(f, m));
  return out;
}

void describe_cloud_settings(const std::vector<CloudBootSetting>& settings, Properties& out) {
  out.add_list("clouds");
  for (const CloudBootSetting& s : settings)
    out.add_list_item("clouds")
        .add("cloud", s.cloud)
        .add("boots", s.boots)
        .add("data_disk", s.data_disk)
        .add("firmware", s.firmware)
        .add("setting", s.setting)
        .add("reason", s.reason);
}

}  // namespace vdisk::boot
