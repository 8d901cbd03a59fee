// The parent of a differencing VHDX (MS-VHDX 2.6.2.6; docs/vhdx.md "Differencing disks").
//
// Candidates, in the locator's search order: relative_path (against the child's directory),
// volume_path and absolute_win32_path (usable here only when they name a POSIX path; Windows
// volume and drive names cannot be resolved), then the bare file name of each in the child's
// directory (a chain copied off the machine that made it keeps its names, not its drives).
// The shared path rules (base/linked_path.h) pick the first that exists inside the child's
// directory. The parent may be of any format; its identity is checked against parent_linkage
// (or parent_linkage2): the DataWriteGuid of a VHDX parent.
#include <algorithm>

#include <fmt/format.h>

#include "base/linked_path.h"
#include "formats/vhdx/vhdx_reader.h"

namespace vdisk::vhdx {
namespace {

namespace fs = std::filesystem;

std::string slashes(std::string s) {
  std::replace(s.begin(), s.end(), '\\', '/');
  return s;
}

std::string lower(std::string s) {
  for (char& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return s;
}

struct Candidate {
  fs::path path;
  std::string key;
};

std::vector<Candidate> candidates(const ParentLocator& loc) {
  std::vector<Candidate> out, names;
  for (const char* key : {"relative_path", "volume_path", "absolute_win32_path"}) {
    const std::string v = slashes(loc.get(key));
    if (v.empty()) continue;
    const fs::path p(v);
    const bool windows = v.rfind("//?/", 0) == 0 || (v.size() >= 2 && v[1] == ':');
    if (std::string_view(key) == "relative_path" ? !p.is_absolute() && !windows
                                                 : p.is_absolute() && !windows)
      out.push_back({p, key});
    if (p.has_filename()) names.push_back({p.filename(), std::string(key) + " (file name)"});
  }
  out.insert(out.end(), names.begin(), names.end());
  return out;
}

Status check_identity(const ParentLocator& loc, const Parent& p, const OpenOptions& options) {
  if (options.ignore_parent_identity) return {};
  const std::string want = lower(loc.get("parent_linkage"));
  const std::string want2 = lower(loc.get("parent_linkage2"));
  if (p.source->format() != kFormat)
    return unsupported(
        fmt::format("vhdx: parent '{}' is a {} image, which records no "
                    "DataWriteGuid to compare with parent_linkage {}; ignore the "
                    "parent identity to open it",
                    p.path, p.source->format(), want));
  const std::string got = lower(vdisk::describe(*p.source).get("data_write_guid"));
  if (got != want && (want2.empty() || got != want2))
    return corrupt(
        fmt::format("vhdx: parent '{}': DataWriteGuid expected {} (parent_linkage{}), "
                    "found {} (the parent changed after the child was made)",
                    p.path, want, want2.empty() ? "" : " or " + want2, got));
  return {};
}

}  // namespace

Result<Parent> open_parent(const Layout& l, const fs::path& path, const OpenOptions& options) {
  if (!l.md.has_parent) return Parent{};
  const ParentLocator& loc = *l.md.parent;
  if (guid_text(loc.type) != kVhdxParentLocatorType)
    return unsupported(fmt::format("vhdx: parent locator type {} is not the VHDX parent type {}",
                                   guid_text(loc.type), kVhdxParentLocatorType));
  if (loc.get("parent_linkage").empty())
    return corrupt(fmt::format("vhdx: parent locator has no parent_linkage key"));
  if (path.empty())
    return not_found(
        "vhdx: differencing disk opened without a path, so its parent cannot be "
        "located");
  std::error_code ec;
  const fs::path self = fs::weakly_canonical(path, ec);
  if (ec) return errno_status(ec.value(), path.string(), "resolve");
  const std::vector<Candidate> cands = candidates(loc);
  std::vector<fs::path> paths;
  for (const Candidate& c : cands) paths.push_back(c.path);
  VDISK_ASSIGN_OR_RETURN(const fs::path chosen,
                         detail::resolve_linked_file(kFormat, "parent", path, paths, options));
  detail::ChainLink link;
  VDISK_RETURN_IF_ERROR(link.enter(kFormat, "parent", self, chosen));
  Parent p;
  p.path = chosen.string();
  for (const Candidate& c : cands)
    if (fs::weakly_canonical(c.path.is_absolute() ? c.path : self.parent_path() / c.path, ec) ==
        chosen) {
      p.tried_key = c.key;
      break;
    }
  OpenOptions o = options;
  o.format.clear();  // the parent's format is probed, whatever the child's was
  auto opened = open_image(chosen, o);
  if (!opened.ok()) return opened.status().with_context(fmt::format("vhdx: parent '{}'", p.path));
  p.source = std::move(*opened);
  VDISK_RETURN_IF_ERROR(check_identity(loc, p, options));
  return p;
}

}  // namespace vdisk::vhdx
