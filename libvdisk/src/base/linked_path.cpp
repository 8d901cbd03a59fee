// The directory rule and the chain stack for linked files (see linked_path.h).
#include "base/linked_path.h"

#include <algorithm>
#include <string>
#include <utility>

#include <fmt/format.h>

namespace vdisk::detail {
namespace {

namespace fs = std::filesystem;

// The naming images of the links being followed on this thread, outermost first.
thread_local std::vector<fs::path> t_chain;

std::string quoted_list(const std::vector<fs::path>& paths, std::string_view separator) {
  std::string out;
  for (const fs::path& p : paths) {
    if (!out.empty()) out += separator;
    out += "'" + p.string() + "'";
  }
  return out;
}

}  // namespace

bool path_inside(const fs::path& dir, const fs::path& p) {
  const auto rel = p.lexically_relative(dir);
  return !rel.empty() && rel != "." && *rel.begin() != "..";
}

Result<fs::path> resolve_linked_file(std::string_view format, std::string_view what,
                                     const fs::path& image, const std::vector<fs::path>& candidates,
                                     const OpenOptions& options) {
  const auto first = std::find_if(candidates.begin(), candidates.end(),
                                  [](const fs::path& c) { return !c.empty(); });
  if (first == candidates.end())
    return not_found(fmt::format("{}: {} of '{}' not found (the image records no usable name)",
                                 format, what, image.string()));
  if (image.empty())
    return not_found(
        fmt::format("{}: the image names the {} '{}' but was opened without a path, so it "
                    "cannot be located",
                    format, what, first->string()));
  std::error_code ec;
  const fs::path self = fs::weakly_canonical(image, ec);
  if (ec) return errno_status(ec.value(), image.string(), "resolve");
  const fs::path dir = self.parent_path();
  std::vector<fs::path> tried;
  fs::path outside;
  for (const fs::path& c : candidates) {
    if (c.empty()) continue;
    const fs::path full = (c.is_absolute() ? c : dir / c).lexically_normal();
    if (std::find(tried.begin(), tried.end(), full) != tried.end()) continue;
    tried.push_back(full);
    if (!fs::exists(full, ec)) continue;
    const fs::path canon = fs::weakly_canonical(full, ec);
    if (ec) continue;
    if (!options.allow_outside_paths && !path_inside(dir, canon)) {
      if (outside.empty()) outside = canon;
      continue;
    }
    return canon;
  }
  if (!outside.empty())
    return outside_link(
        fmt::format("{}: {} '{}' of '{}' lies outside the directory '{}'; "
                    "allow outside paths to open it",
                    format, what, outside.string(), image.string(), dir.string()));
  return not_found(fmt::format("{}: {} '{}' of '{}' not found (tried {})", format, what,
                               first->string(), image.string(), quoted_list(tried, ", ")));
}

Status outside_link(std::string message) { return corrupt(std::move(message)); }

ChainLink::~ChainLink() {
  if (entered_) t_chain.pop_back();
}

Status ChainLink::enter(std::string_view format, std::string_view what, const fs::path& self,
                        const fs::path& target) {
  if (target == self)
    return corrupt(fmt::format("{}: the chain loops: '{}' names itself as its {}", format,
                               self.string(), what));
  if (std::find(t_chain.begin(), t_chain.end(), target) != t_chain.end()) {
    std::vector<fs::path> loop(std::find(t_chain.begin(), t_chain.end(), target), t_chain.end());
    loop.push_back(self);
    loop.push_back(target);
    return corrupt(
        fmt::format("{}: the chain loops: '{}' names '{}' as its {}, which is already being "
                    "opened ({})",
                    format, self.string(), target.string(), what, quoted_list(loop, " -> ")));
  }
  // The chain holds the stack, `self` and `target`.
  if (t_chain.size() + 2 > kMaxChainDepth)
    return resource_exhausted(
        fmt::format("{}: the chain at '{}' is deeper than {} images ({} '{}' not opened)", format,
                    self.string(), kMaxChainDepth, what, target.string()));
  t_chain.push_back(self);
  entered_ = true;
  return {};
}

}  // namespace vdisk::detail
