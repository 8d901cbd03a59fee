// SESPARSE extents (ESXi 6.5+ space-efficient sparse): constant header, volatile header, u64 grain
// directory and grain tables, 4 KiB grains. Layout: as qemu block/vmdk.c reads it (VMware publishes
// none; docs/vmdk.md §1). Read-only; a journal that needs replaying is refused.
#include <algorithm>
#include <cstring>

#include <fmt/format.h>

#include "base/checked.h"
#include "base/endian.h"
#include "base/table_cache.h"
#include "formats/vmdk/vmdk_extent.h"
#include "formats/vmdk/vmdk_format.h"

namespace vdisk::vmdk {
namespace {

using Table = std::vector<std::uint64_t>;

class SeSparseExtent final : public ExtentReader {
 public:
  SeSparseExtent(std::shared_ptr<const RandomAccessFile> file, const SeSparseHeader& h, Table gd,
                 std::uint64_t size)
      : file_(std::move(file)),
        h_(h),
        gd_(std::move(gd)),
        size_(size),
        grain_(h.grain_size * kSector),
        gtes_(h.grain_table_size * kSector / 8) {}

  std::uint64_t size() const override { return size_; }

  Status map(std::uint64_t offset, std::uint64_t length, std::vector<Extent>& out) const override {
    const std::uint64_t end = offset + length;
    while (offset < end) {
      const std::uint64_t run_end = std::min(end, (offset / grain_ + 1) * grain_);
      VDISK_ASSIGN_OR_RETURN(const std::uint64_t e, entry(offset / grain_));
      append_extent(out, {offset, run_end - offset, kind_of(e)});
      offset = run_end;
    }
    return {};
  }

  Status read(std::uint64_t offset, std::span<std::byte> dst, const FillFn& fill) const override {
    std::size_t pos = 0;
    while (pos < dst.size()) {
      const std::uint64_t at = offset + pos;
      const std::uint64_t g = at / grain_;
      const std::uint64_t in_grain = at % grain_;
      const auto part = dst.subspan(pos, static_cast<std::size_t>(std::min<std::uint64_t>(
                                             grain_ - in_grain, dst.size() - pos)));
      VDISK_ASSIGN_OR_RETURN(const std::uint64_t e, entry(g));
      switch (kind_of(e)) {
        case ExtentKind::unallocated:
          VDISK_RETURN_IF_ERROR(fill(at, part));
          break;
        case ExtentKind::zero:
          std::memset(part.data(), 0, part.size());
          break;
        case ExtentKind::data: {
          const std::uint64_t cluster =
              ((e & 0x0FFF000000000000ull) >> 48) | ((e & 0x0000FFFFFFFFFFFFull) << 12);
          const auto sector = detail::checked_add(h_.grains_offset, cluster * h_.grain_size);
          const auto file_off = sector ? detail::checked_mul(*sector, kSector) : std::nullopt;
          if (cluster >= (std::uint64_t{1} << 40) || !file_off ||
              !detail::range_inside(*file_off + in_grain, part.size(), file_->size()))
            return corrupt_at(
                "vmdk", "SESparse grain", file_off.value_or(0),
                fmt::format("grain {} (cluster {}) lies past the end of {} ({} bytes)", g, cluster,
                            file_->name(), file_->size()));
          VDISK_RETURN_IF_ERROR(file_->read_at(*file_off + in_grain, part));
          break;
        }
      }
      pos += part.size();
    }
    return {};
  }

  void describe(Properties& out) const override {
    out.add("grain_size", grain_);
    out.add("gtes_per_gt", gtes_);
  }

  Result<std::uint64_t> allocated_bytes() const override {
    std::uint64_t bytes = 0;
    for (std::uint64_t g = 0; g * grain_ < size_; g += 1) {
      if (g % gtes_ == 0 && gd_[g / gtes_] == 0) {
        g += gtes_ - 1;
        continue;
      }
      VDISK_ASSIGN_OR_RETURN(const std::uint64_t e, entry(g));
      if (kind_of(e) == ExtentKind::data) bytes += std::min(grain_, size_ - g * grain_);
    }
    return bytes;
  }

 private:
  static ExtentKind kind_of(std::uint64_t e) {
    switch (e >> 60) {
      case 0x0:
        return ExtentKind::unallocated;
      case 0x3:
        return ExtentKind::data;
      default:
        return ExtentKind::zero;  // 0x1 SCSI-unmapped, 0x2 zero grain (checked on load)
    }
  }

  Result<std::uint64_t> entry(std::uint64_t g) const {
    const std::uint64_t gdi = g / gtes_;
    if (gdi >= gd_.size()) return std::uint64_t{0};
    VDISK_ASSIGN_OR_RETURN(auto t, table(gdi));
    if (!t) return std::uint64_t{0};
    return (*t)[g % gtes_];
  }

  Result<std::shared_ptr<const Table>> table(std::uint64_t gdi) const {
    return cache_.get(gdi, [&] { return load_table(gdi); });
  }

  // Grain table `gdi` read and checked (nullptr when the directory entry is 0).
  Result<std::shared_ptr<const Table>> load_table(std::uint64_t gdi) const {
    const std::uint64_t gde = gd_[gdi];
    if (gde == 0) return std::shared_ptr<const Table>();
    const std::uint64_t bytes = gtes_ * 8;
    const std::uint64_t index = gde & 0xFFFFFFFFull;
    const auto at =
        detail::checked_mul(h_.grain_tables_offset + index * h_.grain_table_size, kSector);
    if ((gde >> 32) != 0x10000000ull || index >= h_.grain_tables_size / h_.grain_table_size ||
        !at || !detail::range_inside(*at, bytes, file_->size()))
      return corrupt_at("vmdk", "SESparse grain directory entry", gdi * 8,
                        fmt::format("entry {} is 0x{:016x}: not a grain table inside {} ({} bytes)",
                                    gdi, gde, file_->name(), file_->size()));
    std::vector<std::byte> raw(static_cast<std::size_t>(bytes));
    VDISK_RETURN_IF_ERROR(file_->read_at(*at, raw));
    auto t = std::make_shared<Table>(gtes_);
    for (std::size_t i = 0; i < t->size(); ++i) {
      const std::uint64_t e = detail::load_le64(std::span<const std::byte>(raw).subspan(i * 8));
      const std::uint64_t type = e >> 60;
      if ((type == 0 && e != 0) || type > 3)
        return corrupt_at("vmdk", "SESparse grain table entry", *at + i * 8,
                          fmt::format("entry 0x{:016x} has an unknown type", e));
      (*t)[i] = e;
    }
    return std::shared_ptr<const Table>(std::move(t));
  }

  static constexpr std::size_t kCachedTables = 256;  // 8 MiB of 32 KiB tables
  std::shared_ptr<const RandomAccessFile> file_;
  SeSparseHeader h_;
  Table gd_;
  std::uint64_t size_;
  std::uint64_t grain_;                             // bytes
  std::uint64_t gtes_;                              // entries per table
  detail::TableCache<Table> cache_{kCachedTables};  // by directory index
};

}  // namespace

Result<SeSparseHeader> decode_sesparse_header(std::span<const std::byte> b) {
  auto bad = [](std::string_view d) { return corrupt_at("vmdk", "SESparse header", 0, d); };
  if (b.size() < kHeaderSize) return bad(fmt::format("expected 512 bytes, found {}", b.size()));
  auto u = [&b](std::size_t i) { return detail::load_le64(b.subspan(i * 8)); };
  if (u(0) != kSeSparseMagic)
    return bad(fmt::format("magic expected 0x{:016x}, found 0x{:016x}", kSeSparseMagic, u(0)));
  SeSparseHeader h;
  h.version = u(1);
  h.capacity = u(2);
  h.grain_size = u(3);
  h.grain_table_size = u(4);
  h.flags = u(5);
  h.volatile_header_offset = u(10);
  h.grain_dir_offset = u(16);
  h.grain_dir_size = u(17);
  h.grain_tables_offset = u(18);
  h.grain_tables_size = u(19);
  h.grains_offset = u(24);
  h.grains_size = u(25);
  if (h.version != kSeSparseVersion)
    return unsupported(fmt::format("vmdk: SESparse header: version 0x{:016x} (expected 0x{:016x})",
                                   h.version, kSeSparseVersion));
  if (h.grain_size != 8 || h.grain_table_size != 64)
    return unsupported(
        fmt::format("vmdk: SESparse header: grain size {} and grain table size {} "
                    "sectors (expected 8 and 64)",
                    h.grain_size, h.grain_table_size));
  if (h.flags != 0)
    return unsupported(fmt::format("vmdk: SESparse header: flags 0x{:x} (expected 0)", h.flags));
  if (h.capacity > kMaxCapacitySectors)
    return bad(fmt::format("capacity expected at most {} sectors, found {}", kMaxCapacitySectors,
                           h.capacity));
  // Every offset and size in sectors; keep their sums far from overflow.
  for (std::uint64_t v :
       {h.grain_dir_offset, h.grain_dir_size, h.grain_tables_offset, h.grain_tables_size,
        h.grains_offset, h.grains_size, h.volatile_header_offset})
    if (v > (std::uint64_t{1} << 48))
      return bad(fmt::format("offset or size {} sectors is out of range", v));
  const std::uint64_t needed = detail::div_ceil(h.capacity, 8 * 4096);
  if (h.grain_dir_size * kSector / 8 < needed)
    return bad(fmt::format("grain directory of {} sectors cannot cover {} sectors",
                           h.grain_dir_size, h.capacity));
  return h;
}

Result<std::unique_ptr<ExtentReader>> open_sesparse_extent(
    std::shared_ptr<const RandomAccessFile> file, std::optional<std::uint64_t> size_bytes) {
  std::array<std::byte, kHeaderSize> raw{};
  if (file->size() < raw.size())
    return corrupt_at(
        "vmdk", "SESparse header", 0,
        fmt::format("file {} has {} bytes, fewer than a header", file->name(), file->size()));
  VDISK_RETURN_IF_ERROR(file->read_at(0, raw));
  auto decoded = decode_sesparse_header(raw);
  if (!decoded.ok()) return decoded.status().with_context(file->name());
  const SeSparseHeader& h = *decoded;
  const std::uint64_t capacity = h.capacity * kSector;
  const std::uint64_t size = size_bytes.value_or(capacity);
  if (size > capacity)
    return corrupt(
        fmt::format("vmdk: SESparse extent {}: descriptor size {} bytes exceeds the "
                    "header capacity {} bytes",
                    file->name(), size, capacity));
  // The volatile header says whether a journal must be replayed first.
  std::array<std::byte, 32> vol{};
  const std::uint64_t vat = h.volatile_header_offset * kSector;
  if (!detail::range_inside(vat, vol.size(), file->size()))
    return corrupt_at("vmdk", "SESparse volatile header", vat, "lies past the end of the file");
  VDISK_RETURN_IF_ERROR(file->read_at(vat, vol));
  if (detail::load_le64(vol) != kSeSparseVolatileMagic)
    return corrupt_at("vmdk", "SESparse volatile header", vat,
                      fmt::format("magic expected 0x{:016x}, found 0x{:016x}",
                                  kSeSparseVolatileMagic, detail::load_le64(vol)));
  if (detail::load_le64(std::span<const std::byte>(vol).subspan(24)) != 0)
    return unsupported(
        fmt::format("vmdk: SESparse extent {}: the journal needs replaying (the "
                    "disk was not closed cleanly); open it in ESXi first",
                    file->name()));
  const std::uint64_t entries = detail::div_ceil(h.capacity, 8 * 4096);
  const std::uint64_t gd_at = h.grain_dir_offset * kSector;
  if (entries * 8 > kMaxGdBytes || !detail::range_inside(gd_at, entries * 8, file->size()))
    return corrupt_at(
        "vmdk", "SESparse grain directory", gd_at,
        fmt::format("{} entries lie past the end of {} ({} bytes) or exceed the limit", entries,
                    file->name(), file->size()));
  std::vector<std::byte> gd_raw(static_cast<std::size_t>(entries * 8));
  VDISK_RETURN_IF_ERROR(file->read_at(gd_at, gd_raw));
  Table gd(static_cast<std::size_t>(entries));
  for (std::size_t i = 0; i < gd.size(); ++i)
    gd[i] = detail::load_le64(std::span<const std::byte>(gd_raw).subspan(i * 8));
  return std::unique_ptr<ExtentReader>(
      std::make_unique<SeSparseExtent>(std::move(file), h, std::move(gd), size));
}

}  // namespace vdisk::vmdk
