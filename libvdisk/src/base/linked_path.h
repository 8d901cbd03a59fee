// The one rule for files an image names, for every format that follows links: VHD and VHDX
// differencing parents, VMDK parents (parentFileNameHint) and extent files, QCOW2 backing files
// and external data files. Each format turns what it records into candidate names (its own
// business: locators, hints, backslashes, drive letters); everything after that is here, so no
// driver keeps a private copy.
//
// Directory rule: a candidate is opened only when its canonical path (symbolic links followed)
// lies in the directory of the image that names it, or below it, unless
// OpenOptions::allow_outside_paths. A relative candidate is taken against that directory; an
// image opened without a path (from memory) cannot locate anything it names.
//
// Chains: an image opened through a link may itself name a parent, in any format, so a chain
// can mix formats (qcow2 over VMDK over VHD). Every driver follows a link inside a ChainLink,
// which keeps the naming image on ONE thread_local stack shared by all formats: a link to an
// image already on the stack is a loop (corrupt), and a chain of more than kMaxChainDepth
// images is refused (resource_exhausted), whichever formats it mixes. The stack is the
// recursion's own bookkeeping, never configuration: empty between calls, and every thread has
// its own.
#ifndef VDISK_UTIL_LINKED_PATH_H_
#define VDISK_UTIL_LINKED_PATH_H_

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "vdisk/image.h"
#include "vdisk/status.h"

namespace vdisk::detail {

// The most images one chain holds, the image opened first and its base included, whatever
// their formats: a link that would make the chain longer is refused.
inline constexpr std::size_t kMaxChainDepth = 32;

// True when `p` lies strictly inside `dir` (both lexically normal, canonical paths).
bool path_inside(const std::filesystem::path& dir, const std::filesystem::path& p);

// The canonical path of the first of `candidates` (as recorded: absolute, or relative to the
// directory of `image`) that exists and passes the directory rule. Errors, each one line that
// starts with `format` and names `what` ("parent", "backing file", "extent file on descriptor
// line 4") and the first candidate:
// - not_found when `candidates` holds no usable (non-empty) name, when `image` is empty (opened
//   without a path), or when no candidate exists (the message lists every path tried);
// - corrupt (outside_link) naming the first existing candidate when every one that exists lies
//   outside the directory.
Result<std::filesystem::path> resolve_linked_file(
    std::string_view format, std::string_view what, const std::filesystem::path& image,
    const std::vector<std::filesystem::path>& candidates, const OpenOptions& options);

// The refusal of a link the directory rule does not allow (outside the directory, a Windows
// drive name, an OVA href that leaves the package): code corrupt, so callers and vdconvert
// (exit 2) treat it as invalid input, as they treat a loop; never invalid_argument, which
// means the caller's own request was malformed. `message` is the whole one-line message.
Status outside_link(std::string message);

// One link of a chain being followed. enter() checks the link from `self` (the canonical path of
// the image that names it) to `target` (the canonical path resolve_linked_file returned) and,
// when it is allowed, keeps `self` on the thread's chain stack until the ChainLink is destroyed;
// open `target` (through open_image or a driver's own recursion) while it lives. Errors, one line
// starting with `format`:
// - corrupt, naming a loop and the chain, when `target` is `self` or already on the stack;
// - resource_exhausted when following the link would make the chain longer than
//   kMaxChainDepth images.
// enter() is called at most once per ChainLink.
class ChainLink {
 public:
  ChainLink() = default;
  ~ChainLink();
  ChainLink(const ChainLink&) = delete;
  ChainLink& operator=(const ChainLink&) = delete;

  Status enter(std::string_view format, std::string_view what, const std::filesystem::path& self,
               const std::filesystem::path& target);

 private:
  bool entered_ = false;
};

}  // namespace vdisk::detail

#endif  // VDISK_UTIL_LINKED_PATH_H_
