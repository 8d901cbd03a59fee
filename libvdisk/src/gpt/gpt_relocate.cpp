// GPT relocation for padded disks (see gpt_relocate.h).
#include "gpt/gpt_relocate.h"

#include <algorithm>
#include <array>
#include <cstring>

#include <fmt/format.h>

#include "gpt/gpt_codec.h"
#include "base/checked.h"
#include "base/endian.h"

namespace vdisk::gpt {
namespace {

Result<std::vector<std::byte>> read_bytes(const BlockSource& src, std::uint64_t offset,
                                          std::uint64_t length) {
  std::vector<std::byte> buf(static_cast<std::size_t>(length));
  VDISK_RETURN_IF_ERROR(src.read(offset, buf));
  return buf;
}

// The protective MBR's 0xEE entry, when LBA 0 holds a pure protective MBR (signature 55 AA, one
// used entry, type 0xEE, starting at LBA 1). Returns its byte offset in the sector.
std::optional<std::size_t> protective_entry(std::span<const std::byte> mbr) {
  if (mbr.size() < 512 || mbr[510] != std::byte{0x55} || mbr[511] != std::byte{0xAA})
    return std::nullopt;
  std::optional<std::size_t> found;
  for (std::size_t i = 0; i < 4; ++i) {
    const auto e = mbr.subspan(446 + 16 * i, 16);
    if (std::all_of(e.begin(), e.end(), [](std::byte b) { return b == std::byte{0}; })) continue;
    if (found || e[4] != std::byte{0xEE} || detail::load_le32(e.subspan(8)) != 1)
      return std::nullopt;
    found = 446 + 16 * i;
  }
  return found;
}

bool same_table(const Header& a, const Header& b) {
  return a.disk_guid == b.disk_guid && a.first_usable_lba == b.first_usable_lba &&
         a.last_usable_lba == b.last_usable_lba && a.entry_count == b.entry_count &&
         a.entry_size == b.entry_size && a.entries_crc == b.entries_crc;
}

class RelocatedSource final : public BlockSource {
 public:
  RelocatedSource(const BlockSource& src, std::uint64_t size, std::vector<Patch> patches)
      : src_(src), size_(size), patches_(std::move(patches)) {}

  std::uint64_t size() const override { return size_; }

  Status read(std::uint64_t offset, std::span<std::byte> dst) const override {
    if (!detail::range_inside(offset, dst.size(), size_))
      return out_of_range(
          fmt::format("gpt: read [{}, +{}) past the padded size {}", offset, dst.size(), size_));
    const std::uint64_t have = src_.size();
    std::size_t real = 0;
    if (offset < have)
      real = static_cast<std::size_t>(std::min<std::uint64_t>(dst.size(), have - offset));
    if (real > 0) VDISK_RETURN_IF_ERROR(src_.read(offset, dst.first(real)));
    std::fill(dst.begin() + static_cast<std::ptrdiff_t>(real), dst.end(), std::byte{0});
    const std::uint64_t end = offset + dst.size();
    for (auto it = first_patch(offset); it != patches_.end() && it->offset < end; ++it) {
      const std::uint64_t s = std::max(offset, it->offset);
      const std::uint64_t e = std::min(end, it->end());
      auto out = dst.subspan(static_cast<std::size_t>(s - offset), static_cast<std::size_t>(e - s));
      if (it->bytes.empty())
        std::fill(out.begin(), out.end(), std::byte{0});
      else
        std::memcpy(out.data(), it->bytes.data() + (s - it->offset), out.size());
    }
    return {};
  }

  Status map(std::uint64_t offset, std::uint64_t length, std::vector<Extent>& out) const override {
    if (!detail::range_inside(offset, length, size_))
      return out_of_range(
          fmt::format("gpt: map [{}, +{}) past the padded size {}", offset, length, size_));
    const std::uint64_t end = offset + length;
    std::vector<Extent> base;
    const std::uint64_t have = src_.size();
    if (offset < have) VDISK_RETURN_IF_ERROR(src_.map(offset, std::min(end, have) - offset, base));
    if (end > have)
      append_extent(
          base, {std::max(offset, have), end - std::max(offset, have), ExtentKind::unallocated});
    auto it = first_patch(offset);
    for (const Extent& e : base) {
      for (std::uint64_t at = e.offset; at < e.end();) {
        while (it != patches_.end() && it->end() <= at) ++it;
        if (it != patches_.end() && it->offset <= at) {
          const std::uint64_t n = std::min(e.end(), it->end()) - at;
          append_extent(out, {at, n, it->bytes.empty() ? ExtentKind::zero : ExtentKind::data});
          at += n;
        } else {
          const std::uint64_t stop = it != patches_.end() ? std::min(e.end(), it->offset) : e.end();
          append_extent(out, {at, stop - at, e.kind});
          at = stop;
        }
      }
    }
    return {};
  }

  std::string_view format() const override { return src_.format(); }
  void describe(Properties& out) const override { src_.describe(out); }

 private:
  std::vector<Patch>::const_iterator first_patch(std::uint64_t offset) const {
    return std::upper_bound(patches_.begin(), patches_.end(), offset,
                            [](std::uint64_t o, const Patch& p) { return o < p.end(); });
  }

  const BlockSource& src_;
  std::uint64_t size_;
  std::vector<Patch> patches_;
};

}  // namespace

void put_patch(std::vector<Patch>& patches, Patch p) {
  if (!p.bytes.empty()) p.length = p.bytes.size();
  if (p.length == 0) return;
  std::vector<Patch> out;
  for (Patch& q : patches) {
    if (q.end() <= p.offset || q.offset >= p.end()) {
      out.push_back(std::move(q));
      continue;
    }
    // Keep the parts of q before and after p.
    auto keep = [&](std::uint64_t s, std::uint64_t e) {
      Patch part{s, e - s, {}};
      if (!q.bytes.empty())
        part.bytes.assign(q.bytes.begin() + static_cast<std::ptrdiff_t>(s - q.offset),
                          q.bytes.begin() + static_cast<std::ptrdiff_t>(e - q.offset));
      out.push_back(std::move(part));
    };
    if (q.offset < p.offset) keep(q.offset, p.offset);
    if (q.end() > p.end()) keep(p.end(), q.end());
  }
  out.push_back(std::move(p));
  std::sort(out.begin(), out.end(),
            [](const Patch& a, const Patch& b) { return a.offset < b.offset; });
  patches.swap(out);
}

namespace {

// Checks the old backup (header at r.old_backup_lba, its array where it says) against the
// primary `h` and, when it is a GPT header, plans zeros over it (and over its array when that is
// intact). Returns a note when the old backup was not intact ("" otherwise).
Result<std::string> inspect_old_backup(const Header& h, std::uint64_t old_lbas, const ReadFn& read,
                                       Relocation& r) {
  const std::uint64_t lba = r.lba_size;
  const std::uint64_t sectors = h.array_sectors(lba);
  std::string note;
  VDISK_ASSIGN_OR_RETURN(const auto old_backup, read(h.alternate_lba * lba, lba));
  if (!has_signature(old_backup))
    return fmt::format("no backup GPT header at LBA {}", h.alternate_lba);
  auto bh = decode_header(old_backup, h.alternate_lba, lba, old_lbas);
  if (!bh.ok()) {
    note = std::string(bh.status().message());
  } else if (bh->alternate_lba != 1 || !same_table(h, *bh)) {
    note = fmt::format("backup GPT header at LBA {} does not match the primary", h.alternate_lba);
  } else {
    auto barray = read(bh->entries_lba * lba, bh->array_bytes());
    if (!barray.ok()) {
      if (barray.status().code() != Errc::unsupported) return barray.status();
      note = std::string(barray.status().message());
    } else if (crc32(*barray) != h.entries_crc) {
      note = fmt::format("backup GPT entry array at LBA {} has a bad CRC32", bh->entries_lba);
    } else {
      r.old_backup_valid = true;
      put_patch(r.patches, {bh->entries_lba * lba, sectors * lba, {}});
    }
  }
  put_patch(r.patches, {h.alternate_lba * lba, lba, {}});
  return note;
}

void add_backup_note(Analysis& a, const std::string& note) {
  if (!note.empty())
    a.message +=
        fmt::format(" (the old backup was not intact: {}; rebuilt from the primary)", note);
}

}  // namespace

Result<Analysis> plan_relocation(const BlockSource& src, std::uint64_t new_size) {
  return plan_relocation(src, new_size, true);
}

Status finish_relocation(Analysis& a, const ReadFn& read) {
  Relocation& r = a.relocation;
  if (a.outcome != Analysis::Outcome::relocated || !r.old_backup_pending) return {};
  r.old_backup_pending = false;
  VDISK_ASSIGN_OR_RETURN(const auto note, inspect_old_backup(r.primary, r.old_lbas, read, r));
  add_backup_note(a, note);
  return {};
}

Result<Analysis> plan_relocation(const BlockSource& src, std::uint64_t new_size,
                                 bool inspect_backup) {
  const std::uint64_t size = src.size();
  if (new_size < size)
    return invalid_argument(
        fmt::format("gpt: padded size {} is below the disk size {}", new_size, size));
  Analysis a;
  if (size < 1024) return a;
  VDISK_ASSIGN_OR_RETURN(const auto head, read_bytes(src, 0, std::min<std::uint64_t>(size, 8192)));
  const std::span<const std::byte> hs(head);
  std::uint64_t lba = 0;
  if (has_signature(hs.subspan(512)))
    lba = 512;
  else if (hs.size() >= 8192 && has_signature(hs.subspan(4096)))
    lba = 4096;
  if (lba == 0) {
    if (!inspect_backup) return a;  // a stream: the end of the disk is not at hand yet
    const std::uint64_t last = size / 512 - 1;
    VDISK_ASSIGN_OR_RETURN(const auto tail, read_bytes(src, last * 512, 512));
    if (has_signature(tail)) {
      a.outcome = Analysis::Outcome::invalid;
      a.message = fmt::format(
          "gpt: no GPT header at LBA 1 but a backup GPT header at LBA {}; "
          "the table is left as it is (repair it with sgdisk or gdisk first)",
          last);
    }
    return a;
  }
  auto invalid = [&](const Status& s) {
    a.outcome = Analysis::Outcome::invalid;
    a.message = fmt::format(
        "{}; the GPT is left as it is and its backup is not moved to the new "
        "end of the disk",
        s.message());
    return a;
  };
  const std::uint64_t old_lbas = size / lba;
  const std::uint64_t new_lbas = new_size / lba;
  auto primary = decode_header(hs.subspan(lba, lba), 1, lba, old_lbas);
  if (!primary.ok()) return invalid(primary.status());
  Header h = *primary;
  const std::uint64_t array_at = h.entries_lba * lba;
  VDISK_ASSIGN_OR_RETURN(const auto array, read_bytes(src, array_at, h.array_bytes()));
  auto entries = decode_entries(array, h, array_at);
  if (!entries.ok()) return invalid(entries.status());
  if (new_lbas == old_lbas) {
    a.outcome = Analysis::Outcome::unchanged;
    return a;
  }

  Relocation& r = a.relocation;
  r.lba_size = lba;
  r.partitions = entries->size();
  r.old_backup_lba = h.alternate_lba;
  r.old_last_usable_lba = h.last_usable_lba;
  const std::uint64_t sectors = h.array_sectors(lba);
  r.new_backup_lba = new_lbas - 1;
  r.new_entries_lba = r.new_backup_lba - sectors;  // > last usable: the end only moved outward
  r.new_last_usable_lba = r.new_entries_lba - 1;
  if (r.new_entries_lba <= h.last_usable_lba || r.new_backup_lba <= h.alternate_lba)
    return internal_error(fmt::format("gpt: relocation to LBA {} does not move past LBA {}",
                                      r.new_backup_lba, h.alternate_lba));

  // The old backup: cleared when it is a GPT header; its array too when it matches the primary.
  r.primary = h;
  r.old_lbas = old_lbas;
  std::string backup_note;
  if (inspect_backup) {
    const ReadFn read = [&src](std::uint64_t offset, std::uint64_t length) {
      return read_bytes(src, offset, length);
    };
    VDISK_ASSIGN_OR_RETURN(backup_note, inspect_old_backup(h, old_lbas, read, r));
  } else {
    r.old_backup_pending = true;
  }

  // Protective MBR size (UEFI: size of the disk minus one, capped at 0xFFFFFFFF).
  if (auto at = protective_entry(hs.first(512))) {
    const std::uint32_t old_span =
        static_cast<std::uint32_t>(std::min<std::uint64_t>(old_lbas - 1, 0xFFFFFFFF));
    const std::uint32_t new_span =
        static_cast<std::uint32_t>(std::min<std::uint64_t>(new_lbas - 1, 0xFFFFFFFF));
    const auto size_field = hs.subspan(*at + 12, 4);
    if (detail::load_le32(size_field) == old_span && new_span != old_span) {
      std::vector<std::byte> mbr(head.begin(), head.begin() + 512);
      detail::store_le32(std::span(mbr).subspan(*at + 12, 4), new_span);
      // The ending CHS follows the new last sector, as sgdisk -e writes it.
      const auto chs = mbr_chs(new_span);
      std::copy(chs.begin(), chs.end(), mbr.begin() + static_cast<std::ptrdiff_t>(*at + 5));
      put_patch(r.patches, {0, 512, std::move(mbr)});
      r.pmbr_updated = true;
    }
  }

  // Primary header: new alternate and last usable LBAs.
  h.alternate_lba = r.new_backup_lba;
  h.last_usable_lba = r.new_last_usable_lba;
  std::vector<std::byte> primary_sector(head.begin() + static_cast<std::ptrdiff_t>(lba),
                                        head.begin() + static_cast<std::ptrdiff_t>(2 * lba));
  encode_header(h, primary_sector);
  const std::uint32_t header_size = h.header_size;
  // Backup array and header at the new end.
  std::vector<std::byte> new_array(static_cast<std::size_t>(sectors * lba), std::byte{0});
  std::copy(array.begin(), array.end(), new_array.begin());
  put_patch(r.patches, {r.new_entries_lba * lba, 0, std::move(new_array)});
  Header b = h;
  b.current_lba = r.new_backup_lba;
  b.alternate_lba = 1;
  b.entries_lba = r.new_entries_lba;
  std::vector<std::byte> backup_sector(static_cast<std::size_t>(lba), std::byte{0});
  std::copy_n(primary_sector.begin(), header_size, backup_sector.begin());
  encode_header(b, backup_sector);
  put_patch(r.patches, {lba, 0, std::move(primary_sector)});
  put_patch(r.patches, {r.new_backup_lba * lba, 0, std::move(backup_sector)});

  a.outcome = Analysis::Outcome::relocated;
  a.message = fmt::format(
      "gpt: backup GPT moved from LBA {} to the new last LBA {} ({}-byte LBAs, {} partition{}); "
      "primary header's alternate LBA and last usable LBA ({} -> {}) updated{}",
      r.old_backup_lba, r.new_backup_lba, lba, r.partitions, r.partitions == 1 ? "" : "s",
      r.old_last_usable_lba, r.new_last_usable_lba,
      r.pmbr_updated ? ", protective MBR resized" : "");
  add_backup_note(a, backup_note);
  return a;
}

Result<std::unique_ptr<BlockSource>> relocated_source(const BlockSource& src,
                                                      std::uint64_t new_size,
                                                      std::vector<Patch> patches) {
  if (new_size < src.size())
    return invalid_argument(
        fmt::format("gpt: padded size {} is below the disk size {}", new_size, src.size()));
  for (std::size_t i = 0; i < patches.size(); ++i) {
    const Patch& p = patches[i];
    if ((!p.bytes.empty() && p.bytes.size() != p.length) || p.length == 0 ||
        !detail::range_inside(p.offset, p.length, new_size) ||
        (i > 0 && p.offset < patches[i - 1].end()))
      return invalid_argument(fmt::format("gpt: patch {} [{}, +{}) is empty, unsorted or past {}",
                                          i, p.offset, p.length, new_size));
  }
  return std::unique_ptr<BlockSource>(new RelocatedSource(src, new_size, std::move(patches)));
}

}  // namespace vdisk::gpt
