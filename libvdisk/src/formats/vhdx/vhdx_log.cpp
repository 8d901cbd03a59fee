// The VHDX log (MS-VHDX 2.3): finding the active sequence of entries and applying it to an
// in-memory overlay of the file (docs/vhdx.md "The log"). The source file is never written.
//
// Scan: every 4 KiB position of the circular log is tried as the start of an entry; cheap
// header checks first, then the whole entry (which may wrap past the end of the log) is read
// and checked: CRC-32C over EntryLength bytes, descriptor signatures, sequence numbers and
// alignment, data-sector sequence numbers. The bytes read are capped (kScanBudgetFactor times
// the log's length), so junk that keeps passing the header checks ends in an error. The
// active sequence ends at the valid entry with the highest sequence number and runs back
// through entries ending where the next starts with sequence numbers one lower, to the head's
// Tail; sequence numbers strictly decrease on the way back, so the walk ends.
#include <algorithm>
#include <cstring>
#include <unordered_map>

#include <fmt/format.h>

#include "checksum/crc32c.h"
#include "base/checked.h"
#include "base/endian.h"
#include "formats/vhdx/vhdx_reader.h"

namespace vdisk::vhdx {
namespace {

inline constexpr std::uint64_t kScanBudgetFactor = 4;
inline constexpr std::size_t kEntryHeaderBytes = 64;
inline constexpr std::size_t kDescriptorBytes = 32;
inline constexpr std::uint64_t kMaxFileAfterReplay = 2 * kMaxVirtualSize;

struct Entry {
  std::uint64_t pos = 0;  // in the log
  std::uint32_t length = 0;
  std::uint32_t tail = 0;
  std::uint64_t sequence = 0;
  std::uint32_t descriptors = 0;
  std::uint64_t flushed = 0, last = 0;
  std::vector<std::byte> bytes;  // the whole entry
};

class LogScan {
 public:
  LogScan(const RandomAccessFile& file, const Header& h) : file_(file), h_(h) {}

  // Reads `dst.size()` log bytes from log position `pos`, wrapping at the end of the log.
  Status read(std::uint64_t pos, std::span<std::byte> dst) const {
    const std::uint64_t first = std::min<std::uint64_t>(dst.size(), h_.log_length - pos);
    VDISK_RETURN_IF_ERROR(
        file_.read_at(h_.log_offset + pos, dst.first(static_cast<std::size_t>(first))));
    if (first < dst.size())
      VDISK_RETURN_IF_ERROR(
          file_.read_at(h_.log_offset, dst.subspan(static_cast<std::size_t>(first))));
    return {};
  }

  // The valid entry starting at `pos`, if any.
  Result<std::optional<Entry>> entry_at(std::uint64_t pos) {
    std::array<std::byte, kEntryHeaderBytes> hb{};
    VDISK_RETURN_IF_ERROR(read(pos, hb));
    Entry e;
    if (std::memcmp(hb.data(), "loge", 4) != 0) return std::optional<Entry>{};
    e.pos = pos;
    e.length = detail::load_le32(std::span(hb).subspan(8));
    e.tail = detail::load_le32(std::span(hb).subspan(12));
    e.sequence = detail::load_le64(std::span(hb).subspan(16));
    e.descriptors = detail::load_le32(std::span(hb).subspan(24));
    e.flushed = detail::load_le64(std::span(hb).subspan(48));
    e.last = detail::load_le64(std::span(hb).subspan(56));
    const std::uint64_t sectors = e.length / kLogSector;
    const std::uint64_t desc_sectors = (std::uint64_t{e.descriptors} + 2 + 127) / 128;
    if (e.length == 0 || e.length % kLogSector != 0 || e.length > h_.log_length ||
        e.sequence == 0 || e.tail % kLogSector != 0 || e.tail >= h_.log_length ||
        load_guid(std::span(hb).subspan(32)) != h_.log_guid || desc_sectors > sectors)
      return std::optional<Entry>{};
    if (scanned_ + e.length > kScanBudgetFactor * h_.log_length + kMiB)
      return resource_exhausted(
          fmt::format("vhdx: log at 0x{:x}: scanning for the active sequence read more than {} "
                      "bytes of a {}-byte log; refusing to go on",
                      h_.log_offset, kScanBudgetFactor * h_.log_length + kMiB, h_.log_length));
    scanned_ += e.length;
    e.bytes.resize(e.length);
    VDISK_RETURN_IF_ERROR(read(pos, e.bytes));
    if (!entry_valid(e)) return std::optional<Entry>{};
    return std::optional<Entry>{std::move(e)};
  }

 private:
  bool entry_valid(const Entry& e) const {
    const std::span<const std::byte> b(e.bytes);
    std::uint32_t crc = checksum::crc32c(0, b.first(4));
    crc = checksum::crc32c_zeros(crc, 4);
    crc = checksum::crc32c(crc, b.subspan(8));
    if (crc != detail::load_le32(b.subspan(4))) return false;
    std::uint64_t data_sectors = 0;
    const std::uint64_t desc_sectors = (std::uint64_t{e.descriptors} + 2 + 127) / 128;
    for (std::uint32_t i = 0; i < e.descriptors; ++i) {
      const auto d =
          b.subspan(kEntryHeaderBytes + std::size_t{i} * kDescriptorBytes, kDescriptorBytes);
      const bool is_zero = std::memcmp(d.data(), "zero", 4) == 0;
      if (!is_zero && std::memcmp(d.data(), "desc", 4) != 0) return false;
      if (detail::load_le64(d.subspan(16)) % kLogSector != 0) return false;
      if (detail::load_le64(d.subspan(24)) != e.sequence) return false;
      if (is_zero) {
        if (detail::load_le64(d.subspan(8)) % kLogSector != 0) return false;
        continue;
      }
      const std::uint64_t at = (desc_sectors + data_sectors++) * kLogSector;
      if (at + kLogSector > e.length) return false;
      const auto s = b.subspan(static_cast<std::size_t>(at), kLogSector);
      const std::uint64_t seq = (std::uint64_t{detail::load_le32(s.subspan(4))} << 32) |
                                detail::load_le32(s.subspan(4092));
      if (std::memcmp(s.data(), "data", 4) != 0 || seq != e.sequence) return false;
    }
    return true;
  }

  const RandomAccessFile& file_;
  const Header& h_;
  std::uint64_t scanned_ = 0;
};

// The entries of the active sequence, oldest first.
std::vector<const Entry*> active_sequence(const std::vector<Entry>& valid, std::uint64_t log_len) {
  if (valid.empty()) return {};
  const Entry* head = &valid.front();
  for (const Entry& e : valid)
    if (e.sequence > head->sequence) head = &e;
  std::unordered_multimap<std::uint64_t, const Entry*> by_end;
  for (const Entry& e : valid) by_end.emplace((e.pos + e.length) % log_len, &e);
  std::vector<const Entry*> seq{head};
  while (seq.back()->pos != head->tail && seq.size() < valid.size()) {
    const Entry* cur = seq.back();
    const Entry* prev = nullptr;
    auto [a, b] = by_end.equal_range(cur->pos);
    for (auto it = a; it != b; ++it)
      if (it->second->sequence == cur->sequence - 1) prev = it->second;
    if (!prev) break;
    seq.push_back(prev);
  }
  std::reverse(seq.begin(), seq.end());
  return seq;
}

Status apply_entry(const Entry& e, std::uint64_t bound, std::uint64_t log_offset,
                   Overlay& overlay) {
  const std::span<const std::byte> b(e.bytes);
  const std::uint64_t desc_sectors = (std::uint64_t{e.descriptors} + 2 + 127) / 128;
  std::uint64_t data_sectors = 0;
  for (std::uint32_t i = 0; i < e.descriptors; ++i) {
    const std::size_t at = kEntryHeaderBytes + std::size_t{i} * kDescriptorBytes;
    const auto d = b.subspan(at, kDescriptorBytes);
    const std::uint64_t target = detail::load_le64(d.subspan(16));
    const bool is_zero = std::memcmp(d.data(), "zero", 4) == 0;
    const std::uint64_t length = is_zero ? detail::load_le64(d.subspan(8)) : kLogSector;
    if (!detail::range_inside(target, length, bound))
      return corrupt_at(kFormat, "log entry", log_offset + e.pos + at,
                        fmt::format("sequence {} descriptor {}: {} bytes at 0x{:x} expected "
                                    "inside the {} bytes of the replayed file",
                                    e.sequence, i, length, target, bound));
    if (is_zero) {
      overlay.zero(target, length);
      continue;
    }
    const auto s = b.subspan(static_cast<std::size_t>((desc_sectors + data_sectors++) * kLogSector),
                             kLogSector);
    std::vector<std::byte> sector(kLogSector);
    std::memcpy(sector.data(), d.data() + 8, 8);         // LeadingBytes
    std::memcpy(sector.data() + 8, s.data() + 8, 4084);  // the data sector's body
    std::memcpy(sector.data() + 4092, d.data() + 4, 4);  // TrailingBytes
    overlay.write(target, std::move(sector));
  }
  return {};
}

}  // namespace

Result<LogReplay> replay_log(const RandomAccessFile& file, const Header& h, Overlay& overlay) {
  LogReplay out;
  out.file_size = file.size();
  if (is_zero(h.log_guid)) return out;
  if (h.log_length == 0 || h.log_length > kMaxLogBytes ||
      !detail::range_inside(h.log_offset, h.log_length, file.size()))
    return corrupt_at(kFormat, "header", h.log_offset,
                      fmt::format("the log to replay expected at most {} bytes inside the "
                                  "{}-byte file, found {} bytes at 0x{:x}",
                                  kMaxLogBytes, file.size(), h.log_length, h.log_offset));
  LogScan scan(file, h);
  std::vector<Entry> valid;
  for (std::uint64_t pos = 0; pos < h.log_length; pos += kLogSector) {
    VDISK_ASSIGN_OR_RETURN(std::optional<Entry> e, scan.entry_at(pos));
    if (e) valid.push_back(std::move(*e));
  }
  const std::vector<const Entry*> active = active_sequence(valid, h.log_length);
  if (active.empty())
    return corrupt_at(kFormat, "log", h.log_offset,
                      "the header's log GUID is set, so the log holds pending updates, but no "
                      "valid log entry was found");
  const Entry& head = *active.back();
  if (head.flushed > file.size())
    return corrupt_at(kFormat, "log entry", h.log_offset + head.pos + 48,
                      fmt::format("FlushedFileOffset {} expected within the {}-byte file (the "
                                  "file was truncated)",
                                  head.flushed, file.size()));
  if (head.last > kMaxFileAfterReplay)
    return corrupt_at(kFormat, "log entry", h.log_offset + head.pos + 56,
                      fmt::format("LastFileOffset expected at most {}, found {}",
                                  kMaxFileAfterReplay, head.last));
  const std::uint64_t bound = std::max(file.size(), *detail::round_up(head.last, kMiB));
  for (const Entry* e : active)
    VDISK_RETURN_IF_ERROR(apply_entry(*e, bound, h.log_offset, overlay));
  out.entries = active.size();
  out.first_sequence = active.front()->sequence;
  out.last_sequence = head.sequence;
  out.file_size = bound;
  return out;
}

}  // namespace vdisk::vhdx
