// See machines.h.
#include "contract/machines.h"

namespace vdisk::detail {
namespace {

constexpr std::uint64_t kTiB = 1ull << 40;

// Azure: the VMBus and its storage driver (Generation 2 VMs have SCSI disks only, and on
// Generation 1 ata_piix leaves the IDE disks to hv_storvsc when the kernel has it):
// docs/livecd.md §8. GCP: the boot disk is a virtio-scsi device.
constexpr std::string_view kAzureModules[] = {"hv_vmbus", "hv_storvsc"};
constexpr std::string_view kGcpModules[] = {"virtio_scsi"};

// Boot settings and limits (docs/boot.md): Azure `az disk create --hyper-v-generation` (V1 =
// BIOS, V2 = UEFI; OS disks up to 4 TiB on Generation 2), AWS `aws ec2 import-image
// --boot-mode` / `register-image --boot-mode`, GCP `gcloud compute images create
// --guest-os-features=UEFI_COMPATIBLE` (UEFI boots from a GPT EFI system partition only; boot
// disks up to 2 TiB under BIOS/MBR), AWS VM Import's 16 TiB volume limit.
constexpr MachineFacts kMachines[] = {
    {"azure", kAzureModules, "--hyper-v-generation", "V1", "V2", "V2", false, 4 * kTiB},
    {"gcp", kGcpModules, "--guest-os-features", "", "UEFI_COMPATIBLE", "UEFI_COMPATIBLE", true,
     64 * kTiB},
    {"aws", {}, "--boot-mode", "legacy-bios", "uefi", "uefi-preferred", false, 16 * kTiB},
};

}  // namespace

std::span<const MachineFacts> machines() noexcept { return kMachines; }

const MachineFacts* find_machine(std::string_view name) noexcept {
  for (const MachineFacts& m : kMachines)
    if (m.name == name) return &m;
  return nullptr;
}

}  // namespace vdisk::detail
