// QCOW2 input driver: probing, opening (header, active L1 table, snapshot table, linked files)
// and the driver's registration. Reading is qcow2_source.cpp's.
//
// A valid v2/v3 header is claimed with kCertain; a damaged one, and qcow (v1), are left to the
// qcow recogniser in signatures/disk_formats.cpp, which refuses them (corrupt / unsupported).
// qcow2 needs random access: there is no stream reader, so the registry refuses stdin with
// "qcow2: this format cannot be read from a stream (it needs random access)".
#include <algorithm>

#include <fmt/format.h>

#include "contract/format_driver.h"
#include "formats/qcow2/qcow2_reader.h"
#include "base/checked.h"
#include "base/endian.h"

namespace vdisk::qcow2 {

// Reads cluster 0 (the header, its extensions and the backing name); at most 2 MiB.
Result<Header> read_header(const RandomAccessFile& file) {
  std::vector<std::byte> head(
      static_cast<std::size_t>(std::min<std::uint64_t>(file.size(), kV3HeaderBytes)));
  VDISK_RETURN_IF_ERROR(file.read_at(0, head));
  VDISK_RETURN_IF_ERROR(check_fixed_header(head));
  const std::uint64_t cs = std::uint64_t{1} << detail::load_be32(std::span(head).subspan(20));
  std::vector<std::byte> cluster0(static_cast<std::size_t>(std::min(file.size(), cs)));
  VDISK_RETURN_IF_ERROR(file.read_at(0, cluster0));
  return decode_header(cluster0, file.size());
}

// Two L1 entries of the active table never share an L2 table (each maps its own guest range);
// refusing that also bounds a walk of the whole disk by the file's size, not the virtual size.
static Status check_l2_shared(const std::vector<std::uint64_t>& l1, const Header& h) {
  std::vector<std::pair<std::uint64_t, std::size_t>> used;
  for (std::size_t i = 0; i < l1.size(); ++i)
    if (const std::uint64_t off = l1[i] & kL1OffsetMask; off != 0) used.emplace_back(off, i);
  std::sort(used.begin(), used.end());
  for (std::size_t k = 1; k < used.size(); ++k)
    if (used[k].first == used[k - 1].first)
      return corrupt_at(kFormat, "L1 table", h.l1_table_offset + used[k].second * 8,
                        fmt::format("entries {} and {} expected distinct L2 tables, found both at "
                                    "0x{:x}",
                                    used[k - 1].second, used[k].second, used[k].first));
  return {};
}

// Reads the active L1 entries that map the virtual size and checks each L2 table offset.
Result<std::vector<std::uint64_t>> read_l1(const RandomAccessFile& file, const Header& h) {
  const std::uint64_t used = detail::div_ceil(h.size, h.l2_entries() * h.cluster_size());
  std::vector<std::byte> raw(static_cast<std::size_t>(used * 8));
  VDISK_RETURN_IF_ERROR(file.read_at(h.l1_table_offset, raw));
  std::vector<std::uint64_t> l1(static_cast<std::size_t>(used));
  for (std::size_t i = 0; i < l1.size(); ++i) {
    l1[i] = detail::load_be64(std::span<const std::byte>(raw).subspan(i * 8));
    const std::uint64_t off = l1[i] & kL1OffsetMask;
    if (off == 0) continue;
    if (off % h.cluster_size() != 0 || !detail::range_inside(off, h.cluster_size(), file.size()))
      return corrupt_at(kFormat, "L1 table", h.l1_table_offset + i * 8,
                        fmt::format("entry {}: L2 table offset expected a cluster-aligned "
                                    "cluster inside the {}-byte file, found 0x{:x}",
                                    i, file.size(), off));
  }
  VDISK_RETURN_IF_ERROR(check_l2_shared(l1, h));
  return l1;
}

namespace {

int probe(const detail::ProbeData& d) {
  return check_fixed_header(d.head).ok() ? detail::kCertain : 0;
}

void warn_dirty(const Header& h, const OpenOptions& o) {
  if (h.incompatible & kIncompatDirty)
    detail::diagnose(o, Diagnostic::Level::warning,
                     "qcow2: the image is marked dirty (incompatible bit 0: it was not closed "
                     "cleanly, so its refcounts may be stale); reading it anyway, the guest data "
                     "does not depend on them");
}

Result<std::unique_ptr<BlockSource>> open(std::unique_ptr<RandomAccessFile> file,
                                          const std::filesystem::path& path,
                                          const OpenOptions& options) {
  VDISK_ASSIGN_OR_RETURN(Header h, read_header(*file));
  VDISK_ASSIGN_OR_RETURN(std::vector<std::uint64_t> l1, read_l1(*file, h));
  VDISK_ASSIGN_OR_RETURN(std::vector<Snapshot> snapshots, read_snapshots(*file, h));
  warn_dirty(h, options);
  VDISK_ASSIGN_OR_RETURN(Links links, open_links(h, path, options));
  if (links.backing && links.backing->size() < h.size)
    detail::diagnose(options, Diagnostic::Level::note,
                     fmt::format("qcow2: backing file '{}' is {} bytes, the image {}; bytes past "
                                 "the backing file's end read as zeros",
                                 links.backing_path, links.backing->size(), h.size));
  return make_source(std::move(file), std::move(h), std::move(l1), std::move(links),
                     std::move(snapshots));
}

}  // namespace
}  // namespace vdisk::qcow2

namespace vdisk::detail {
const FormatDriver& qcow2_driver() {
  static constexpr FormatDriver kDriver{"qcow2", &qcow2::probe, &qcow2::open, nullptr};
  return kDriver;
}
}  // namespace vdisk::detail
