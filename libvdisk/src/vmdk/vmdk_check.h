// `vdconvert check --for vmdk`: structural checks of a VMDK and its whole snapshot chain, in the
// spirit of `qemu-img check`: every grain directory / grain table entry points inside its file,
// grains overlap neither each other nor metadata, the redundant grain directory agrees with the
// primary, a stream file's footer agrees with its header, extent files exist and are long
// enough, and each link's parentCID equals its parent's CID. Descriptor lint findings (which
// consumer rejects what) are added when the lint module is available.
#ifndef VDISK_VMDK_VMDK_CHECK_H_
#define VDISK_VMDK_VMDK_CHECK_H_

#include <filesystem>

#include "vdisk/check.h"

namespace vdisk::vmdk {

// Checks the VMDK at `path` (a single-file sparse image or a descriptor). Fails only when the
// file cannot be opened at all; every structural problem is a failed item of the report, one
// item per rule, naming the file, structure and offset of the first few problems.
Result<CheckReport> check_vmdk(const std::filesystem::path& path);

}  // namespace vdisk::vmdk

#endif  // VDISK_VMDK_VMDK_CHECK_H_
