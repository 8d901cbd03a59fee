// The internal snapshot table (qemu docs/interop/qcow2.txt "Snapshots"; docs/qcow2.md), read
// for `info` only: a conversion exports the active L1 table.
#include <fmt/format.h>

#include "qcow2/qcow2_reader.h"
#include "util/checked.h"
#include "util/endian.h"

namespace vdisk::qcow2 {
namespace {

constexpr std::size_t kFixedBytes = 40;
constexpr std::uint32_t kMaxExtraBytes = 1024;

Status table_error(std::uint64_t at, std::string_view detail) {
  return corrupt_at(kFormat, "snapshot table", at, detail);
}

std::string text_of(std::span<const std::byte> b) {
  return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

}  // namespace

Result<std::vector<Snapshot>> read_snapshots(const RandomAccessFile& file, const Header& h) {
  std::vector<Snapshot> out;
  if (h.nb_snapshots == 0) return out;
  // decode_header placed nb_snapshots x 40 bytes inside the file; the table may be longer
  // (names, extra data) but never more than qemu's 64 MiB bound nor past the end of the file.
  const std::uint64_t limit =
      std::min<std::uint64_t>(kMaxSnapshotTableBytes, file.size() - h.snapshots_offset);
  std::vector<std::byte> table(static_cast<std::size_t>(limit));
  VDISK_RETURN_IF_ERROR(file.read_at(h.snapshots_offset, table));
  const std::span<const std::byte> t(table);
  std::uint64_t at = 0;
  out.reserve(h.nb_snapshots);
  for (std::uint32_t i = 0; i < h.nb_snapshots; ++i) {
    const std::uint64_t pos = h.snapshots_offset + at;
    if (t.size() - at < kFixedBytes)
      return table_error(pos, fmt::format("snapshot {} expected {} bytes before the end of the "
                                          "table, found {}",
                                          i, kFixedBytes, t.size() - at));
    const auto e = t.subspan(at);
    Snapshot s;
    s.l1_table_offset = detail::load_be64(e);
    s.l1_size = detail::load_be32(e.subspan(8));
    const std::uint16_t id_len = detail::load_be16(e.subspan(12));
    const std::uint16_t name_len = detail::load_be16(e.subspan(14));
    s.date_sec = detail::load_be32(e.subspan(16));
    s.date_nsec = detail::load_be32(e.subspan(20));
    s.vm_clock_ns = detail::load_be64(e.subspan(24));
    s.vm_state_size = detail::load_be32(e.subspan(32));
    const std::uint32_t extra = detail::load_be32(e.subspan(36));
    if (extra > kMaxExtraBytes)
      return table_error(pos, fmt::format("snapshot {}: extra_data_size expected at most {}, "
                                          "found {}",
                                          i, kMaxExtraBytes, extra));
    const std::uint64_t body = kFixedBytes + std::uint64_t{extra} + id_len + name_len;
    if (body > e.size())
      return table_error(pos, fmt::format("snapshot {} expected {} bytes before the end of the "
                                          "table, found {}",
                                          i, body, e.size()));
    if (extra >= 16) s.virtual_size = detail::load_be64(e.subspan(kFixedBytes + 8));
    s.id = text_of(e.subspan(kFixedBytes + extra, id_len));
    s.name = text_of(e.subspan(kFixedBytes + extra + id_len, name_len));
    out.push_back(std::move(s));
    at += *detail::round_up(body, 8);
    if (at > t.size()) at = t.size();
  }
  return out;
}

}  // namespace vdisk::qcow2
