// Locating and opening the parent of a differencing VHD.
//
// Candidates, in order: the "W2ru" relative locator (resolved against the child's directory),
// the "W2ku" absolute locator, the parent Unicode name from the header, and finally the bare
// file name of each in the child's directory (chains copied off the Windows machine that made
// them keep their file names but not their drive letters). The first candidate that exists and
// passes the directory rule is opened through vdisk::open_image, so the parent may be of any
// format.
//
// The directory rule, loops and depth are the shared ones of base/linked_path.h: one chain stack
// for every format, so a chain that passes through other formats' drivers is bounded as a whole.
#include <algorithm>

#include <fmt/format.h>

#include "base/checked.h"
#include "base/linked_path.h"
#include "formats/vhd/vhd_reader.h"

namespace vdisk::vhd {
namespace {

std::string slashes(std::string s) {
  std::replace(s.begin(), s.end(), '\\', '/');
  return s;
}

bool has_drive_letter(const std::string& s) {
  return s.size() >= 2 && s[1] == ':' &&
         ((s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z'));
}

std::string base_name(const std::string& s) {
  const auto slash = s.find_last_of('/');
  return slash == std::string::npos ? s : s.substr(slash + 1);
}

// Names as recorded: relative ones are taken against the child's directory.
struct Candidates {
  std::vector<std::filesystem::path> list;
  void add(const std::filesystem::path& p) {
    if (!p.empty()) list.push_back(p);
  }
};

Result<std::vector<std::string>> locator_texts(const RandomAccessFile& file, const DynamicHeader& h,
                                               std::uint32_t code) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < kLocatorCount; ++i) {
    const ParentLocator& l = h.locators[i];
    if (l.platform_code != code || l.data_length == 0) continue;
    if (l.data_length > kMaxLocatorBytes ||
        !detail::range_inside(l.data_offset, l.data_length, file.size()))
      return corrupt_at("vhd", "parent locator", l.data_offset,
                        fmt::format("locator {} expected at most {} bytes of path inside the "
                                    "{}-byte file, found {} bytes",
                                    i, kMaxLocatorBytes, file.size(), l.data_length));
    std::vector<std::byte> raw(l.data_length);
    VDISK_RETURN_IF_ERROR(file.read_at(l.data_offset, raw));
    std::string text = slashes(utf16_to_utf8(raw, false));
    if (!text.empty()) out.push_back(std::move(text));
  }
  return out;
}

}  // namespace

Result<OpenedParent> open_parent(const RandomAccessFile& file, const std::filesystem::path& path,
                                 const OpenOptions& options, const DynamicHeader& header) {
  if (path.empty())
    return not_found(
        fmt::format("vhd: differencing disk {} was opened without a path, so its "
                    "parent cannot be located",
                    file.name()));
  std::error_code ec;
  const std::filesystem::path self = std::filesystem::weakly_canonical(path, ec);
  if (ec) return errno_status(ec.value(), path.string(), "resolve");

  VDISK_ASSIGN_OR_RETURN(auto relative, locator_texts(file, header, kPlatformW2ru));
  VDISK_ASSIGN_OR_RETURN(auto absolute, locator_texts(file, header, kPlatformW2ku));
  const std::string unicode = slashes(utf16_to_utf8(header.parent_name, true));

  Candidates c;
  std::vector<std::string> names;
  for (const auto& r : relative) {
    c.add(r);
    names.push_back(r);
  }
  for (const auto& a : absolute) {
    if (!has_drive_letter(a) && !a.empty() && a[0] == '/') c.add(a);
    names.push_back(a);
  }
  if (!unicode.empty()) {
    if (!has_drive_letter(unicode)) c.add(unicode);
    names.push_back(unicode);
  }
  for (const auto& n : names) c.add(base_name(n));
  if (c.list.empty())
    return corrupt(
        "vhd: dynamic header: parent locators or parent name expected for a "
        "differencing disk, found none");

  VDISK_ASSIGN_OR_RETURN(const std::filesystem::path chosen,
                         detail::resolve_linked_file("vhd", "parent", path, c.list, options));
  detail::ChainLink link;
  VDISK_RETURN_IF_ERROR(link.enter("vhd", "parent", self, chosen));
  OpenOptions parent_options = options;
  parent_options.format.clear();  // the parent's format is probed, whatever the child's was
  auto opened = open_image(chosen, parent_options);
  if (!opened.ok())
    return opened.status().with_context(fmt::format("vhd: parent '{}'", chosen.string()));
  OpenedParent result;
  result.source = std::move(*opened);
  const Properties facts = vdisk::describe(*result.source);
  ParentLink parent{chosen.string(), std::string(result.source->format()), facts.get("unique_id")};
  const std::string want = uuid_text(header.parent_unique_id);
  if (!options.ignore_parent_identity) {
    if (parent.unique_id.empty())
      return unsupported(
          fmt::format("vhd: parent '{}' ({}) records no unique id to compare "
                      "with the expected parent id {}; ignore the parent "
                      "identity to open it",
                      parent.path, parent.format, want));
    if (parent.unique_id != want)
      return corrupt(fmt::format("vhd: parent '{}': unique id expected {}, found {}", parent.path,
                                 want, parent.unique_id));
  }
  result.chain.push_back(std::move(parent));
  if (const auto* chained = dynamic_cast<const ChainedSource*>(result.source.get()))
    for (const ParentLink& l : chained->parent_chain()) result.chain.push_back(l);
  return result;
}

}  // namespace vdisk::vhd
