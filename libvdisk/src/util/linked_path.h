// The rules for files an image names (differencing parents, backing files): where a recorded
// name may be looked for, which candidates may be opened, and the loop/depth bookkeeping of a
// chain being opened. One copy for every format that follows links (VHDX uses it; VHD, VMDK and
// QCOW2 keep equivalent private copies that can move onto it).
//
// Directory rule: a candidate is opened only when its canonical path lies in the directory of
// the image that names it, or below it, unless OpenOptions::allow_outside_paths.
#ifndef VDISK_UTIL_LINKED_PATH_H_
#define VDISK_UTIL_LINKED_PATH_H_

#include <cstddef>
#include <filesystem>
#include <string_view>
#include <vector>

#include "vdisk/image.h"
#include "vdisk/status.h"

namespace vdisk::detail {

// True when `p` lies strictly inside `dir` (both lexically normal, canonical paths).
bool path_inside(const std::filesystem::path& dir, const std::filesystem::path& p);

// The canonical path of the first of `candidates` (absolute, or relative to the directory of
// `image`) that exists and passes the directory rule. not_found listing every candidate tried
// when none exists; invalid_argument naming the first existing one when all that exist lie
// outside the directory. `format` and `what` ("parent", "backing file") start the messages.
Result<std::filesystem::path> pick_linked_file(std::string_view format, std::string_view what,
                                               const std::filesystem::path& image,
                                               const std::vector<std::filesystem::path>& candidates,
                                               const OpenOptions& options);

// Keeps `self` (a canonical path) on this thread's stack of images whose links are being
// opened, for the life of the guard. The stack is the recursion's own bookkeeping: empty
// between calls, never configuration.
class LinkGuard {
 public:
  explicit LinkGuard(std::filesystem::path self);
  ~LinkGuard();
  LinkGuard(const LinkGuard&) = delete;
  LinkGuard& operator=(const LinkGuard&) = delete;
};

// corrupt when `p` is already on the stack (a loop), resource_exhausted when the stack already
// holds `max_depth` images.
Status check_link_chain(std::string_view format, const std::filesystem::path& p,
                        std::size_t max_depth);

}  // namespace vdisk::detail

#endif  // VDISK_UTIL_LINKED_PATH_H_
