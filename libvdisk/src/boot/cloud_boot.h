// What to tell each cloud about a disk's boot firmware (docs/boot.md): from the disk's boot
// facts (boot/disk_boot.h) and each machine's row (contract/machines.h), the option and value to
// pass when the image or disk is created (Azure --hyper-v-generation V1|V2, AWS --boot-mode
// legacy-bios|uefi|uefi-preferred, GCP --guest-os-features=UEFI_COMPATIBLE or nothing), or why
// the disk does not boot there.
#ifndef VDISK_BOOT_CLOUD_BOOT_H_
#define VDISK_BOOT_CLOUD_BOOT_H_

#include <string>
#include <vector>

#include "boot/disk_boot.h"
#include "contract/machines.h"
#include "vdisk/properties.h"

namespace vdisk::boot {

struct CloudBootSetting {
  std::string cloud;       // MachineFacts::name
  bool boots = false;      // the disk boots there with `setting`
  bool data_disk = false;  // no boot code: attach it as a data disk
  std::string firmware;    // "bios", "uefi", "bios+uefi" or "" when it does not boot
  std::string setting;     // "--hyper-v-generation V2", "" when nothing is to be passed
  std::string reason;      // one line: why this setting, or why it does not boot
};

// The UEFI boot of `facts` as `machine`'s firmware sees it: false when the machine needs a GPT
// and the ESP is an MBR partition, and when the GPT uses 4096-byte LBAs (the clouds present
// 512-byte sectors, so the disk reads as if it had no GPT).
bool uefi_boots_on(const DiskBootFacts& facts, const vdisk::detail::MachineFacts& machine);
bool bios_boots_on(const DiskBootFacts& facts, const vdisk::detail::MachineFacts& machine);

CloudBootSetting cloud_boot_setting(const DiskBootFacts& facts,
                                    const vdisk::detail::MachineFacts& machine);

// One setting per machine, in machines() order.
std::vector<CloudBootSetting> cloud_boot_settings(const DiskBootFacts& facts);

// Adds the list "clouds" [{cloud, boots, data_disk, firmware, setting, reason}] to `out`.
void describe_cloud_settings(const std::vector<CloudBootSetting>& settings, Properties& out);

}  // namespace vdisk::boot

#endif  // VDISK_BOOT_CLOUD_BOOT_H_
