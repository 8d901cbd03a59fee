// The internal snapshot table (qemu docs/interop/qcow2.txt "Snapshots"; docs/qcow2.md), read
// for `info` only: a conversion exports the active L1 table.
#include <fmt/format.h>

#include "formats/qcow2/qcow2_reader.h"
#include "base/checked.h"
#include "base/endian.h"

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
  // decode_header placed nb_snapshots x 40 bytes inside the file; entries are read one by one,
  // never past the end of the file nor beyond qemu's 64 MiB bound for the whole table.
  const std::uint64_t limit =
      std::min<std::uint64_t>(kMaxSnapshotTableBytes, file.size() - h.snapshots_offset);
  std::uint64_t at = 0;
  out.reserve(h.nb_snapshots);
  std::vector<std::byte> e;
  for (std::uint32_t i = 0; i < h.nb_snapshots; ++i) {
    const std::uint64_t pos = h.snapshots_offset + at;
    if (limit - at < kFixedBytes)
      return table_error(pos, fmt::format("snapshot {} expected {} bytes inside the table, found "
                                          "{}",
                                          i, kFixedBytes, limit - at));
    e.resize(kFixedBytes);
    VDISK_RETURN_IF_ERROR(file.read_at(pos, e));
    Snapshot s;
    s.l1_table_offset = detail::load_be64(e);
    s.l1_size = detail::load_be32(std::span(e).subspan(8));
    const std::uint16_t id_len = detail::load_be16(std::span(e).subspan(12));
    const std::uint16_t name_len = detail::load_be16(std::span(e).subspan(14));
    s.date_sec = detail::load_be32(std::span(e).subspan(16));
    s.date_nsec = detail::load_be32(std::span(e).subspan(20));
    s.vm_clock_ns = detail::load_be64(std::span(e).subspan(24));
    s.vm_state_size = detail::load_be32(std::span(e).subspan(32));
    const std::uint32_t extra = detail::load_be32(std::span(e).subspan(36));
    if (extra > kMaxExtraBytes)
      return table_error(pos, fmt::format("snapshot {}: extra_data_size expected at most {}, "
                                          "found {}",
                                          i, kMaxExtraBytes, extra));
    const std::uint64_t body = kFixedBytes + std::uint64_t{extra} + id_len + name_len;
    if (body > limit - at)
      return table_error(pos, fmt::format("snapshot {} expected {} bytes inside the table, found "
                                          "{}",
                                          i, body, limit - at));
    e.resize(static_cast<std::size_t>(body));  // at most 40 + 1024 + 2 x 65535 bytes
    VDISK_RETURN_IF_ERROR(file.read_at(pos, e));
    const std::span<const std::byte> b(e);
    if (extra >= 16) s.virtual_size = detail::load_be64(b.subspan(kFixedBytes + 8));
    s.id = text_of(b.subspan(kFixedBytes + extra, id_len));
    s.name = text_of(b.subspan(kFixedBytes + extra + id_len, name_len));
    out.push_back(std::move(s));
    at = std::min(limit, *detail::round_up(at + body, 8));
  }
  return out;
}

}  // namespace vdisk::qcow2
