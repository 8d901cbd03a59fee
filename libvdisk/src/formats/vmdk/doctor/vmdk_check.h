// `vdconvert check --for vmdk` (and the per-consumer targets mvmc, qemu, virtualbox, esxi):
// structural checks of a VMDK and its whole snapshot chain, in the spirit of `qemu-img check`:
// every grain directory / grain table entry points inside its file, grains overlap neither each
// other nor metadata, the redundant grain directory agrees with the primary, a stream file's
// footer agrees with its header, COWD (vmfsSparse) and SESparse headers are sane and their
// tables valid, extent files exist and are long enough, parent links resolve, and each link's
// parentCID equals its parent's CID. Then the descriptor lint (vdisk/vmdk_repair.h) of every
// descriptor in the chain, one item per finding (see vdisk/check.h for how they count).
#ifndef VDISK_VMDK_VMDK_CHECK_H_
#define VDISK_VMDK_VMDK_CHECK_H_

#include <filesystem>
#include <memory>
#include <string_view>

#include "vdisk/check.h"
#include "vdisk/io.h"

namespace vdisk::vmdk {

// Checks the VMDK at `path` (a single-file sparse or COWD image, or a descriptor) for `target`
// ("vmdk", "mvmc", "qemu", "virtualbox" or "esxi"). Fails only when the file cannot be opened
// at all or the target is unknown; every structural problem is a failed item of the report, one
// item per rule, naming the file, structure and offset of the first few problems.
Result<CheckReport> check_vmdk(const std::filesystem::path& path, std::string_view target = "vmdk",
                               const CheckOptions& options = {});

// The same on an already open `file`; `path` names it and locates the files its descriptor
// names (parents, extents), resolved inside its directory only.
Result<CheckReport> check_vmdk_file(std::unique_ptr<RandomAccessFile> file,
                                    const std::filesystem::path& path,
                                    std::string_view target = "vmdk",
                                    const CheckOptions& options = {});

}  // namespace vdisk::vmdk

#endif  // VDISK_VMDK_VMDK_CHECK_H_
