// The boot rules every cloud's check applies to a disk (docs/boot.md, "Check rules"), shared by
// check --for azure (formats/vhd/azure_check.cpp), gcp (formats/gcp/gcp_check.cpp) and aws
// (remote/aws/vm_import_check.cpp). Rule ids are "<cloud>.<rule>" (docs/json.md). A data disk
// (no boot code, no EFI system partition) passes the boot rules: it is attached, not booted; the
// table rules (gpt_lba_size, mbr_size) hold for every disk, since a data disk's partitions are
// lost the same way.
#ifndef VDISK_BOOT_BOOT_CHECK_H_
#define VDISK_BOOT_BOOT_CHECK_H_

#include <cstdint>

#include "boot/disk_boot.h"
#include "contract/machines.h"
#include "vdisk/check.h"
#include "vdisk/io.h"

namespace vdisk::boot {

// Appends the boot rules of `machine` for `facts` to `report`:
//   <cloud>.boot_table       a disk with boot code has an MBR or GPT partition table
//   <cloud>.boot_verdict     the disk boots under BIOS or UEFI on the cloud, or is a data disk
//   <cloud>.gpt_lba_size     a GPT uses 512-byte LBAs (the cloud presents 512-byte sectors)
//   <cloud>.mbr_size         a disk partitioned with MBR alone is at most 2 TiB
//   <cloud>.boot_disk_size   a boot disk is within the cloud's boot disk limit
//   gcp.uefi_gpt             (GCP) a disk that boots only under UEFI has its ESP in a GPT
//   <cloud>.boot_setting     (always passes) the option to pass, in the detail
void add_boot_rules(CheckReport& report, const vdisk::detail::MachineFacts& machine,
                    const DiskBootFacts& facts);

// The boot facts of the disk held in the first `length` bytes of `file` (a fixed VHD's data).
Result<DiskBootFacts> read_disk_boot(const RandomAccessFile& file, std::uint64_t length);

}  // namespace vdisk::boot

#endif  // VDISK_BOOT_BOOT_CHECK_H_
