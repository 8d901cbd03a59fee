// The machines a bootable target is for, and what their boot disks need of an input's own
// operating system. A target names its machine (TargetDriver::machine); checks that look inside
// an input (a live ISO's initrd, docs/livecd.md §8) loop over this table instead of naming
// clouds. Adding a machine is one row in machines.cpp.
#pragma once

#include <span>
#include <string_view>

namespace vdisk::detail {

struct MachineFacts {
  std::string_view name;  // as TargetDriver::machine spells it
  // Kernel modules the boot disk's controller needs, in the initrd or built into the kernel.
  std::span<const std::string_view> boot_modules;
};

// Every machine, in report order.
std::span<const MachineFacts> machines() noexcept;

// The machine named `name`, or nullptr.
const MachineFacts* find_machine(std::string_view name) noexcept;

}  // namespace vdisk::detail
