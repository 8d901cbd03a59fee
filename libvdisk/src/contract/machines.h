// The machines a bootable target is for, and what their boot disks need of an input's own
// operating system. A target names its machine (TargetDriver::machine); checks that look inside
// an input (a live ISO's initrd, docs/livecd.md §8) and the boot settings each cloud must be told
// (boot/cloud_boot.h, docs/boot.md) loop over this table instead of naming clouds. Adding a
// machine is one row in machines.cpp.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace vdisk::detail {

struct MachineFacts {
  std::string_view name;  // as TargetDriver::machine and check --for spell it
  // Kernel modules the boot disk's controller needs, in the initrd or built into the kernel;
  // empty when not established (the initrd check then skips the machine).
  std::span<const std::string_view> boot_modules;
  // How the cloud is told a disk's boot firmware when the image or disk is created: the option
  // of the cloud's own tool, and its value for a disk that boots under BIOS only, UEFI only, or
  // both ("" = pass nothing).
  std::string_view boot_option;
  bool boot_option_joined = false;  // written --option=value (gcloud's style), else --option value
  std::string_view bios_value;
  std::string_view uefi_value;
  std::string_view both_value;
  // Whether its UEFI firmware boots only from a GPT (not from an MBR type 0xef partition).
  bool uefi_needs_gpt = false;
  // The largest boot disk it takes, in bytes, and the largest one that boots under BIOS only
  // (0: the same).
  std::uint64_t max_boot_disk_bytes = 0;
  std::uint64_t max_bios_boot_disk_bytes = 0;
  // The cloud's own error text for a disk whose partitions it cannot find, or "".
  std::string_view no_partitions_error = {};
};

// Every machine, in report order.
std::span<const MachineFacts> machines() noexcept;

// The machine named `name`, or nullptr.
const MachineFacts* find_machine(std::string_view name) noexcept;

}  // namespace vdisk::detail
