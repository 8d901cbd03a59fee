// See machines.h.
#include "contract/machines.h"

namespace vdisk::detail {
namespace {

constexpr std::uint64_t kGiB = 1ull << 30;
constexpr std::uint64_t kTiB = 1ull << 40;

// Azure: the VMBus and its storage driver (Generation 2 VMs have SCSI disks only, and on
// Generation 1 ata_piix leaves the IDE disks to hv_storvsc when the kernel has it):
// docs/livecd.md §8. GCP: the boot disk is a virtio-scsi device.
constexpr std::string_view kAzureModules[] = {"hv_vmbus", "hv_storvsc"};
constexpr std::string_view kGcpModules[] = {"virtio_scsi"};

// Boot settings and limits (docs/boot.md): Azure `az disk create --hyper-v-generation` (V1 =
// BIOS, V2 = UEFI; a managed OS disk is at most 4095 GiB, the Compute API's osDisk size limit), AWS
// `aws ec2 import-image
// --boot-mode` / `register-image --boot-mode`, GCP `gcloud compute images create
// --guest-os-features=UEFI_COMPATIBLE` (UEFI boots from a GPT EFI system partition only; boot
// disks up to 2 TiB under BIOS/MBR), AWS VM Import's 16 TiB volume limit and its error for a
// disk without a partition table it reads. Azure Generation 1 (BIOS) takes OS disks up to 2 TiB.
constexpr MachineFacts kMachines[] = {
    {.name = "azure",
     .boot_modules = kAzureModules,
     .boot_option = "--hyper-v-generation",
     .boot_option_joined = false,
     .bios_value = "V1",
     .uefi_value = "V2",
     .both_value = "V2",
     .uefi_needs_gpt = false,
     .max_boot_disk_bytes = 4095 * kGiB,
     .max_bios_boot_disk_bytes = 2 * kTiB,
     .no_partitions_error = ""},
    {.name = "gcp",
     .boot_modules = kGcpModules,
     .boot_option = "--guest-os-features",
     .boot_option_joined = true,
     .bios_value = "",
     .uefi_value = "UEFI_COMPATIBLE",
     .both_value = "UEFI_COMPATIBLE",
     .uefi_needs_gpt = true,
     .max_boot_disk_bytes = 64 * kTiB,
     .max_bios_boot_disk_bytes = 0,
     .no_partitions_error = ""},
    {.name = "aws",
     .boot_modules = {},
     .boot_option = "--boot-mode",
     .boot_option_joined = false,
     .bios_value = "legacy-bios",
     .uefi_value = "uefi",
     .both_value = "uefi-preferred",
     .uefi_needs_gpt = false,
     .max_boot_disk_bytes = 16 * kTiB,
     .max_bios_boot_disk_bytes = 0,
     .no_partitions_error = "No valid partitions. Not a valid volume"},
};

}  // namespace

std::span<const MachineFacts> machines() noexcept { return kMachines; }

const MachineFacts* find_machine(std::string_view name) noexcept {
  for (const MachineFacts& m : kMachines)
    if (m.name == name) return &m;
  return nullptr;
}

}  // namespace vdisk::detail
