// The boot verdict of a live ISO's default entry (docs/livecd.md §8): what its initrds hold for
// each cloud's boot disk (Azure: hv_vmbus + hv_storvsc; GCP: virtio_scsi) and whether its
// command line has a serial console, for `info` and for the warnings of a conversion.
#ifndef VDISK_LIVECD_BOOT_VERDICT_H_
#define VDISK_LIVECD_BOOT_VERDICT_H_

#include <string>
#include <string_view>
#include <vector>

#include "formats/iso9660/livecd/boot_entry.h"
#include "formats/iso9660/livecd/initrd.h"
#include "vdisk/iso9660.h"
#include "vdisk/properties.h"
#include "vdisk/status.h"

namespace vdisk::livecd {

struct BootVerdict {
  bool found = false;  // a default entry was found (else `problem`)
  std::string problem;
  BootEntry entry;                   // the entry a BIOS boot uses (else the EFI one)
  std::vector<InitrdFacts> initrds;  // one per entry.initrds, in order
  BootEntryFacts facts;
};

// Finds the ISO's default entry and reads its initrds (decompressing them once; bounded by
// InitrdLimits). Fails only on I/O errors; what cannot be read is in `problem` or the facts.
// With a `machine` (a name in contract/machines.h), an initrd is read only until that cloud's boot modules
// (cloud_boot_modules()) have all been seen: enough for boot_warnings() on that machine, not
// for the other cloud's facts (which may then say "unknown").
Result<BootVerdict> boot_verdict(const iso9660::Volume& volume, const iso9660::BootReport& report,
                                 std::string_view machine = {});

// The verdict as properties: config_file, kernel, initrds, append, serial_console, and per cloud
// {cloud, ready, summary, drivers [{module, state}]}; or {problem}.
void describe_boot_verdict(const BootVerdict& verdict, Properties& out);

// One warning line per problem that would leave `machine` (a name in contract/machines.h) without a disk or a
// console: a driver it needs that the initrds lack, and (when `console_kept`: the ISO's own
// command line is used) no serial console. Empty when there is nothing to say.
std::vector<std::string> boot_warnings(const BootVerdict& verdict, std::string_view machine,
                                       bool console_kept);

}  // namespace vdisk::livecd

#endif  // VDISK_LIVECD_BOOT_VERDICT_H_
