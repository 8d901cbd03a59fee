// See machines.h.
#include "contract/machines.h"

namespace vdisk::detail {
namespace {

// Azure: the VMBus and its storage driver (Generation 2 VMs have SCSI disks only, and on
// Generation 1 ata_piix leaves the IDE disks to hv_storvsc when the kernel has it):
// docs/livecd.md §8. GCP: the boot disk is a virtio-scsi device.
constexpr std::string_view kAzureModules[] = {"hv_vmbus", "hv_storvsc"};
constexpr std::string_view kGcpModules[] = {"virtio_scsi"};

constexpr MachineFacts kMachines[] = {
    {"azure", kAzureModules},
    {"gcp", kGcpModules},
};

}  // namespace

std::span<const MachineFacts> machines() noexcept { return kMachines; }

const MachineFacts* find_machine(std::string_view name) noexcept {
  for (const MachineFacts& m : kMachines)
    if (m.name == name) return &m;
  return nullptr;
}

}  // namespace vdisk::detail
