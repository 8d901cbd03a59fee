// Path rules and chain bookkeeping for linked files (see linked_path.h).
#include "util/linked_path.h"

#include <algorithm>

#include <fmt/format.h>

namespace vdisk::detail {
namespace {

namespace fs = std::filesystem;

thread_local std::vector<fs::path> t_linking;

}  // namespace

bool path_inside(const fs::path& dir, const fs::path& p) {
  const auto rel = p.lexically_relative(dir);
  return !rel.empty() && rel != "." && *rel.begin() != "..";
}

Result<fs::path> pick_linked_file(std::string_view format, std::string_view what,
                                  const fs::path& image, const std::vector<fs::path>& candidates,
                                  const OpenOptions& options) {
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
    return invalid_argument(
        fmt::format("{}: {} '{}' of '{}' lies outside the directory '{}'; "
                    "allow outside paths to open it",
                    format, what, outside.string(), image.string(), dir.string()));
  std::string list;
  for (const fs::path& p : tried) list += (list.empty() ? "'" : ", '") + p.string() + "'";
  if (list.empty()) list = "no usable name";
  return not_found(
      fmt::format("{}: {} of '{}' not found (tried {})", format, what, image.string(), list));
}

LinkGuard::LinkGuard(fs::path self) { t_linking.push_back(std::move(self)); }
LinkGuard::~LinkGuard() { t_linking.pop_back(); }

Status check_link_chain(std::string_view format, const fs::path& p, std::size_t max_depth) {
  if (std::find(t_linking.begin(), t_linking.end(), p) != t_linking.end())
    return corrupt(fmt::format("{}: the chain of parents loops back to '{}'", format, p.string()));
  if (t_linking.size() >= max_depth)
    return resource_exhausted(
        fmt::format("{}: the chain of parents at '{}' is deeper than {} "
                    "images",
                    format, p.string(), max_depth));
  return {};
}

}  // namespace vdisk::detail
