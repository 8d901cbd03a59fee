// The files a qcow2 image names: its backing file (any format libvdisk reads, opened through
// vdisk::open_image with backing_fmt honoured) and its external data file (read as raw bytes).
//
// Path rules, loops and depth are the ones every format shares (base/linked_path.h): a name is
// resolved against the image's directory and must lie in it or below it unless
// OpenOptions::allow_outside_paths, and the backing file is opened inside a ChainLink, so a chain
// through other formats that comes back to an image being opened is caught. qemu pseudo-names
// (json:, protocol prefixes such as nbd: or http:) are never opened.
#include <algorithm>
#include <array>

#include <fmt/format.h>

#include "formats/qcow2/qcow2_reader.h"
#include "base/linked_path.h"

namespace vdisk::qcow2 {
namespace {

namespace fs = std::filesystem;

// qemu reads "json:{...}" and "<protocol>:<rest>" names as block-layer options, not files.
bool is_protocol_name(std::string_view name) {
  if (name.rfind("json:", 0) == 0) return true;
  static constexpr std::array<std::string_view, 16> kProtocols = {
      "nbd", "http",    "https", "ftp",  "ftps",     "ssh",  "iscsi",       "rbd",
      "nfs", "gluster", "vxhs",  "null", "blkdebug", "file", "host_device", "host_cdrom"};
  const auto colon = name.find(':');
  if (colon == std::string_view::npos) return false;
  const std::string_view proto = name.substr(0, colon);
  return std::find(kProtocols.begin(), kProtocols.end(), proto) != kProtocols.end() ||
         name.substr(colon).rfind("://", 0) == 0;
}

// qemu format names that libvdisk calls otherwise.
std::string driver_for(std::string_view qemu_format) {
  if (qemu_format == "vpc") return "vhd";
  if (qemu_format == "file" || qemu_format == "host_device") return "raw";
  return std::string(qemu_format);
}

// Resolves `name` (recorded in the image at `path`) to an existing file under the path rules.
Result<fs::path> resolve(const fs::path& path, const std::string& name, std::string_view what,
                         const OpenOptions& options) {
  if (is_protocol_name(name))
    return unsupported(
        fmt::format("qcow2: {} '{}' of '{}' is a qemu protocol or json: name, "
                    "not a file; refusing to open it",
                    what, name, path.string()));
  return detail::resolve_linked_file("qcow2", what, path, {fs::path(name)}, options);
}

Status open_backing(const Header& h, const fs::path& path, const OpenOptions& options,
                    Links& links) {
  VDISK_ASSIGN_OR_RETURN(const fs::path p, resolve(path, h.backing_file, "backing file", options));
  std::error_code ec;
  const fs::path self = fs::weakly_canonical(path, ec);
  if (ec) return errno_status(ec.value(), path.string(), "resolve");
  detail::ChainLink link;
  VDISK_RETURN_IF_ERROR(link.enter("qcow2", "backing file", self, p));
  OpenOptions o = options;
  o.format = driver_for(h.backing_format);  // empty: probed, as qemu does without backing_fmt
  auto opened = open_image(p, o);
  if (!opened.ok())
    return opened.status().with_context(fmt::format("qcow2: backing file '{}'", p.string()));
  links.backing = std::move(*opened);
  links.backing_path = p.string();
  links.backing_driver = std::string(links.backing->format());
  return {};
}

Status open_data_file(const Header& h, const fs::path& path, const OpenOptions& options,
                      Links& links) {
  if (h.data_file.empty())
    return unsupported(
        "qcow2: header: the image keeps its data in an external data file "
        "(incompatible bit 2) but records no name for it; it cannot be read");
  VDISK_ASSIGN_OR_RETURN(const fs::path p,
                         resolve(path, h.data_file, "external data file", options));
  auto f = open_file(p);
  if (!f.ok())
    return f.status().with_context(fmt::format("qcow2: external data file '{}'", p.string()));
  links.data_file = std::move(*f);
  links.data_file_path = p.string();
  return {};
}

}  // namespace

Result<Links> open_links(const Header& h, const std::filesystem::path& path,
                         const OpenOptions& options) {
  Links links;
  if (h.has_data_file()) VDISK_RETURN_IF_ERROR(open_data_file(h, path, options, links));
  if (!h.backing_file.empty()) VDISK_RETURN_IF_ERROR(open_backing(h, path, options, links));
  return links;
}

}  // namespace vdisk::qcow2
