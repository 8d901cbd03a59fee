// VHDX input driver: probing, opening (headers, log replay, region table, metadata, BAT,
// parent) and the driver's registration. Reading is vhdx_source.cpp's.
//
// The headers lie at 64 and 128 KiB, past what a probe sees, so the driver bids kCertain on the
// file identifier alone and its open names what is damaged (the vhdxfile recogniser in
// signatures/disk_formats.cpp is then never reached for a file). VHDX needs random access:
// there is no stream reader, so the registry refuses stdin with "vhdx: this format cannot be
// read from a stream (it needs random access)".
#include <cstring>

#include <fmt/format.h>

#include "contract/format_driver.h"
#include "base/utf.h"
#include "formats/vhdx/vhdx_reader.h"

namespace vdisk::vhdx {
namespace {

int probe(const detail::ProbeData& d) {
  return d.head.size() >= 8 && std::memcmp(d.head.data(), "vhdxfile", 8) == 0 ? detail::kCertain
                                                                              : 0;
}

Result<std::string> read_creator(const RandomAccessFile& file) {
  std::vector<std::byte> raw(512);
  VDISK_RETURN_IF_ERROR(file.read_at(8, raw));
  return detail::utf16_to_utf8(raw, false);
}

void report(const Layout& l, const OpenOptions& o) {
  if (!l.headers.both_valid)
    detail::diagnose(
        o, Diagnostic::Level::warning,
        fmt::format("vhdx: header {} is damaged; reading with header {} (sequence "
                    "{})",
                    2 - l.headers.index, l.headers.index + 1, l.headers.current.sequence));
  if (l.region_table != 0)
    detail::diagnose(o, Diagnostic::Level::warning,
                     "vhdx: region table 1 is damaged; reading with region table 2");
  if (l.log.entries != 0)
    detail::diagnose(o, Diagnostic::Level::note,
                     fmt::format("vhdx: the log held {} pending entries (sequence {} to {}); "
                                 "replayed them in memory, the file is unchanged",
                                 l.log.entries, l.log.first_sequence, l.log.last_sequence));
}

Result<std::unique_ptr<BlockSource>> open(std::unique_ptr<RandomAccessFile> file,
                                          const std::filesystem::path& path,
                                          const OpenOptions& options) {
  Layout l;
  l.real_file_size = file->size();
  VDISK_ASSIGN_OR_RETURN(l.headers, read_headers(*file));
  Overlay overlay;
  VDISK_ASSIGN_OR_RETURN(l.log, replay_log(*file, l.headers.current, overlay));
  VDISK_ASSIGN_OR_RETURN(l.creator, read_creator(*file));
  auto view = overlay_file(std::move(file), std::move(overlay), l.log.file_size);
  VDISK_RETURN_IF_ERROR(read_regions_and_metadata(*view, l));
  VDISK_ASSIGN_OR_RETURN(std::vector<std::uint64_t> bat, read_bat(*view, l));
  report(l, options);
  VDISK_ASSIGN_OR_RETURN(Parent parent, open_parent(l, path, options));
  if (parent.source && parent.source->size() < l.md.virtual_size)
    detail::diagnose(options, Diagnostic::Level::note,
                     fmt::format("vhdx: parent '{}' is {} bytes, the disk {}; bytes past the "
                                 "parent's end read as zeros",
                                 parent.path, parent.source->size(), l.md.virtual_size));
  return make_source(std::move(view), std::move(l), std::move(bat), std::move(parent));
}

}  // namespace
}  // namespace vdisk::vhdx

namespace vdisk::detail {
const FormatDriver& vhdx_driver() {
  static constexpr FormatDriver kDriver{"vhdx", &vhdx::probe, &vhdx::open, nullptr};
  return kDriver;
}
}  // namespace vdisk::detail
