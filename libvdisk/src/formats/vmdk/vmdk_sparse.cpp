// Hosted sparse extents: grain directory, grain tables (bounded cache), plain and compressed
// grains. Layout facts: VMware technote "Hosted Sparse Extents" and "Stream-Optimized
// Compressed Sparse Extents"; docs/vmdk.md §1.
#include <algorithm>
#include <atomic>
#include <cstring>

#include <fmt/format.h>

#include "base/checked.h"
#include "base/endian.h"
#include "base/table_cache.h"
#include "vdisk/vmdk.h"
#include "formats/vmdk/vmdk_extent.h"

namespace vdisk::vmdk {
namespace {

using Table = std::vector<std::uint32_t>;

// VMware stream layout (gdOffset GD_AT_END, footer used): the GD and each GT are written after a
// GD / GT marker (technote "Stream-Optimized Compressed Sparse Extents"). The stream reader
// finds them by those markers, so the file reader requires them too, and both read the same
// tables. `min_bytes`: metadata the marker must announce (0: any).
Status check_marker_before(const RandomAccessFile& f, std::uint64_t at, MarkerType type,
                           std::uint64_t min_bytes, std::string_view structure) {
  std::array<std::byte, kMarkerSize> raw{};
  if (at >= kSector) VDISK_RETURN_IF_ERROR(f.read_at(at - kSector, raw));
  const Marker m = decode_marker(raw);
  if (at < kSector || m.size != 0 || m.type != static_cast<std::uint32_t>(type) ||
      m.value * kSector < min_bytes)
    return corrupt_at("vmdk", structure, at,
                      fmt::format("expected a {} marker (type {}, at least {} sectors) in the "
                                  "sector before it, found value {}, size {}, type {}",
                                  type == MarkerType::grain_directory ? "GD" : "GT",
                                  static_cast<std::uint32_t>(type),
                                  detail::div_ceil(min_bytes, kSector), m.value, m.size, m.type));
  return {};
}

class SparseExtentImpl final : public ExtentReader {
 public:
  SparseExtentImpl(std::shared_ptr<const RandomAccessFile> file, SparseHeader h, Table gd,
                   std::uint64_t size, DiagnosticFn on_diagnostic = {}, bool gt_markers = false)
      : file_(std::move(file)),
        h_(h),
        gd_(std::move(gd)),
        size_(size),
        on_diagnostic_(std::move(on_diagnostic)),
        gt_markers_(gt_markers),
        grain_(h.grain_bytes()),
        coverage_(h.gt_coverage() * kSector),
        gt_bytes_(std::uint64_t{h.num_gtes_per_gt} * 4),
        cache_(static_cast<std::size_t>(std::max<std::uint64_t>(1, kGtCacheBytes / gt_bytes_))) {}

  std::uint64_t size() const override { return size_; }

  Status map(std::uint64_t offset, std::uint64_t length, std::vector<Extent>& out) const override {
    const std::uint64_t end = offset + length;
    while (offset < end) {
      const std::uint64_t gdi = offset / coverage_;
      const std::uint64_t table_end = std::min(end, (gdi + 1) * coverage_);
      VDISK_ASSIGN_OR_RETURN(auto gt, table(gdi));
      if (!gt) {
        append_extent(out, {offset, table_end - offset, ExtentKind::unallocated});
        offset = table_end;
        continue;
      }
      while (offset < table_end) {
        const std::uint64_t g = offset / grain_;
        const std::uint64_t run_end = std::min(table_end, (g + 1) * grain_);
        const std::uint32_t gte = (*gt)[(offset % coverage_) / grain_];
        append_extent(out, {offset, run_end - offset, kind_of(gte)});
        offset = run_end;
      }
    }
    return {};
  }

  Status read(std::uint64_t offset, std::span<std::byte> dst, const FillFn& fill) const override {
    std::vector<std::byte> scratch;  // one grain, for compressed grains read in part
    std::size_t pos = 0;
    while (pos < dst.size()) {
      const std::uint64_t at = offset + pos;
      const std::uint64_t g = at / grain_;
      const std::uint64_t in_grain = at % grain_;
      VDISK_ASSIGN_OR_RETURN(const std::uint32_t gte, lookup(g));
      // Coalesce consecutive plain grains stored back to back into one file read.
      std::uint64_t n = std::min<std::uint64_t>(grain_ - in_grain, dst.size() - pos);
      if (!h_.compressed() && kind_of(gte) == ExtentKind::data) {
        std::uint64_t next = g + 1;
        while (pos + n < dst.size()) {
          VDISK_ASSIGN_OR_RETURN(const std::uint32_t e, lookup(next));
          if (kind_of(e) != ExtentKind::data ||
              std::uint64_t{e} != std::uint64_t{gte} + (next - g) * h_.grain_size)
            break;
          n += std::min<std::uint64_t>(grain_, dst.size() - pos - n);
          ++next;
        }
      }
      const auto part = dst.subspan(pos, static_cast<std::size_t>(n));
      switch (kind_of(gte)) {
        case ExtentKind::unallocated:
          VDISK_RETURN_IF_ERROR(fill(at, part));
          break;
        case ExtentKind::zero:
          std::memset(part.data(), 0, part.size());
          break;
        case ExtentKind::data:
          if (h_.compressed()) {
            VDISK_RETURN_IF_ERROR(read_compressed(g, gte, in_grain, part, scratch));
          } else {
            const std::uint64_t file_off = std::uint64_t{gte} * kSector + in_grain;
            if (!detail::range_inside(file_off, part.size(), file_->size()))
              return corrupt_at(
                  "vmdk", "grain", file_off,
                  fmt::format("grain {} ({} bytes) lies past the end of {} ({} bytes)", g,
                              part.size(), file_->name(), file_->size()));
            VDISK_RETURN_IF_ERROR(file_->read_at(file_off, part));
          }
          break;
      }
      pos += part.size();
    }
    return {};
  }

  void describe(Properties& out) const override {
    out.add("grain_size", grain_);
    out.add("gtes_per_gt", h_.num_gtes_per_gt);
  }

  Result<std::uint64_t> allocated_bytes() const override {
    // Virtual bytes held by allocated grains of this extent (the last grain may be partial).
    std::uint64_t bytes = 0;
    for (std::uint64_t gdi = 0; gdi < gd_.size(); ++gdi) {
      VDISK_ASSIGN_OR_RETURN(auto gt, load_table(gdi));
      if (!gt) continue;
      for (std::size_t i = 0; i < gt->size(); ++i) {
        const std::uint64_t start = (gdi * h_.num_gtes_per_gt + i) * grain_;
        if (kind_of((*gt)[i]) == ExtentKind::data && start < size_)
          bytes += std::min(grain_, size_ - start);
      }
    }
    return bytes;
  }

 private:
  ExtentKind kind_of(std::uint32_t gte) const {
    if (gte == 0) return ExtentKind::unallocated;
    if (gte == 1 && h_.zeroed_grains()) return ExtentKind::zero;
    return ExtentKind::data;
  }

  Result<std::shared_ptr<const Table>> load_table(std::uint64_t gdi) const {
    if (gdi >= gd_.size()) return std::shared_ptr<const Table>();
    const std::uint32_t gde = gd_[gdi];
    if (gde == 0) return std::shared_ptr<const Table>();
    const std::uint64_t at = std::uint64_t{gde} * kSector;
    if (!detail::range_inside(at, gt_bytes_, file_->size()))
      return corrupt_at("vmdk", "grain directory entry", at,
                        fmt::format("grain table {} ({} bytes) lies past the end of {} ({} bytes)",
                                    gdi, gt_bytes_, file_->name(), file_->size()));
    if (gt_markers_)
      VDISK_RETURN_IF_ERROR(
          check_marker_before(*file_, at, MarkerType::grain_table, 0, "grain table"));
    std::vector<std::byte> raw(static_cast<std::size_t>(gt_bytes_));
    VDISK_RETURN_IF_ERROR(file_->read_at(at, raw));
    auto t = std::make_shared<Table>(h_.num_gtes_per_gt);
    for (std::size_t i = 0; i < t->size(); ++i)
      (*t)[i] = detail::load_le32(std::span<const std::byte>(raw).subspan(i * 4));
    return std::shared_ptr<const Table>(std::move(t));
  }

  // The grain table for directory entry `gdi` (nullptr when unallocated), through the cache.
  Result<std::shared_ptr<const Table>> table(std::uint64_t gdi) const {
    return cache_.get(gdi, [&] { return load_table(gdi); });
  }

  Result<std::uint32_t> lookup(std::uint64_t grain) const {
    const std::uint64_t per_gt = h_.num_gtes_per_gt;
    VDISK_ASSIGN_OR_RETURN(auto gt, table(grain / per_gt));
    if (!gt) return std::uint32_t{0};
    return (*gt)[grain % per_gt];
  }

  Status read_compressed(std::uint64_t g, std::uint32_t gte, std::uint64_t in_grain,
                         std::span<std::byte> part, std::vector<std::byte>& scratch) const {
    const std::uint64_t at = std::uint64_t{gte} * kSector;
    const std::uint64_t fsize = file_->size();
    if (!detail::range_inside(at, kGrainMarkerHeader, fsize))
      return corrupt_at("vmdk", "grain marker", at,
                        fmt::format("grain {} marker lies past the end of {} ({} bytes)", g,
                                    file_->name(), fsize));
    std::array<std::byte, kGrainMarkerHeader> hdr{};
    VDISK_RETURN_IF_ERROR(file_->read_at(at, hdr));
    const std::uint64_t lba = detail::load_le64(hdr);
    const std::uint32_t csize = detail::load_le32(std::span<const std::byte>(hdr).subspan(8));
    if (lba != g * h_.grain_size)
      return corrupt_at(
          "vmdk", "grain marker", at,
          fmt::format("LBA expected {} (grain {}), found {}", g * h_.grain_size, g, lba));
    if (csize == 0 || csize > 2 * grain_ + kCompressedSlackBytes)
      return corrupt_at("vmdk", "grain marker", at,
                        fmt::format("compressed size {} is outside 1..{}", csize,
                                    2 * grain_ + kCompressedSlackBytes));
    if (!detail::range_inside(at + kGrainMarkerHeader, csize, fsize))
      return corrupt_at(
          "vmdk", "compressed grain", at + kGrainMarkerHeader,
          fmt::format("{} bytes run past the end of {} ({} bytes)", csize, file_->name(), fsize));
    std::vector<std::byte> packed(csize);
    VDISK_RETURN_IF_ERROR(file_->read_at(at + kGrainMarkerHeader, packed));
    // The virtual bytes this grain holds: a whole grain, or less for the last one (which may
    // still be stored as a whole zero-padded grain, see inflate_last_grain).
    const std::uint64_t grain_len = std::min(grain_, h_.capacity * kSector - g * grain_);
    if (grain_len == grain_ && in_grain == 0 && part.size() == grain_len)
      return inflate_grain(packed, part, at);
    scratch.resize(static_cast<std::size_t>(grain_len));
    if (grain_len == grain_) {
      VDISK_RETURN_IF_ERROR(inflate_grain(packed, scratch, at));
    } else {
      VDISK_ASSIGN_OR_RETURN(const bool dropped, inflate_last_grain(packed, scratch, grain_, at));
      if (dropped && on_diagnostic_ && !tail_warned_.exchange(true))
        on_diagnostic_(Diagnostic{Diagnostic::Level::warning,
                                  last_grain_warning(file_->name(), g, at, h_.capacity)});
    }
    std::memcpy(part.data(), scratch.data() + in_grain, part.size());
    return {};
  }

  std::shared_ptr<const RandomAccessFile> file_;
  SparseHeader h_;
  Table gd_;
  std::uint64_t size_;
  DiagnosticFn on_diagnostic_;
  bool gt_markers_ = false;  // VMware stream layout: each GT follows a GT marker
  mutable std::atomic<bool> tail_warned_{false};  // last_grain_warning() given (once per extent)
  std::uint64_t grain_;                           // bytes
  std::uint64_t coverage_;                        // bytes per grain table
  std::uint64_t gt_bytes_;
  detail::TableCache<Table> cache_;  // by directory index; kGtCacheBytes of tables
};

Result<SparseExtentInfo> read_info_impl(const RandomAccessFile& file) {
  const std::uint64_t fsize = file.size();
  std::array<std::byte, kHeaderSize> raw{};
  if (fsize < kHeaderSize)
    return corrupt_at("vmdk", "sparse header", 0,
                      fmt::format("file {} has {} bytes, fewer than a header", file.name(), fsize));
  VDISK_RETURN_IF_ERROR(file.read_at(0, raw));
  SparseExtentInfo info;
  VDISK_ASSIGN_OR_RETURN(info.header, decode_sparse_header(raw, 0));
  const SparseHeader& h = info.header;
  if (h.descriptor_offset != 0 && h.descriptor_size != 0) {
    const auto off = detail::checked_mul(h.descriptor_offset, kSector);
    const auto len = detail::checked_mul(h.descriptor_size, kSector);
    if (!off || !len || !detail::range_inside(*off, *len, fsize))
      return corrupt_at("vmdk", "embedded descriptor", off.value_or(0),
                        fmt::format("{} sectors at sector {} lie past the end of {} ({} bytes)",
                                    h.descriptor_size, h.descriptor_offset, file.name(), fsize));
    if (*len > kMaxDescriptorBytes)
      return corrupt_at(
          "vmdk", "embedded descriptor", *off,
          fmt::format("size {} bytes exceeds the {} byte limit", *len, kMaxDescriptorBytes));
    std::string text(static_cast<std::size_t>(*len), '\0');
    VDISK_RETURN_IF_ERROR(file.read_at(*off, std::as_writable_bytes(std::span(text))));
    text.resize(std::min(text.size(), text.find('\0')));
    info.embedded_descriptor = std::move(text);
  }
  if (h.gd_at_end()) {
    if (fsize < kHeaderSize + kFooterTrioBytes)
      return corrupt_at(
          "vmdk", "footer", 0,
          fmt::format("gdOffset is GD_AT_END but {} has only {} bytes", file.name(), fsize));
    const std::uint64_t at = fsize / kSector * kSector - kFooterTrioBytes;
    std::array<std::byte, kFooterTrioBytes> trio{};
    VDISK_RETURN_IF_ERROR(file.read_at(at, trio));
    VDISK_ASSIGN_OR_RETURN(SparseHeader footer, decode_footer_trio(trio, at));
    VDISK_RETURN_IF_ERROR(check_footer_agrees(h, footer, at + kSector));
    info.header = footer;
    info.used_footer = true;
  }
  return info;
}

}  // namespace

std::string last_grain_warning(std::string_view name, std::uint64_t grain, std::uint64_t at,
                               std::uint64_t capacity_sectors) {
  return fmt::format(
      "vmdk: {}: the last grain (grain {}, marker at offset {}) holds non-zero bytes past the end "
      "of the "
      "{}-byte disk; they are dropped, as qemu-img drops them (is the header's capacity smaller "
      "than the disk the image was made from?)",
      name, grain, at, capacity_sectors * kSector);
}

std::unique_ptr<ExtentReader> make_sparse_reader(std::shared_ptr<const RandomAccessFile> file,
                                                 const SparseHeader& header,
                                                 std::vector<std::uint32_t> gd,
                                                 std::uint64_t size) {
  return std::make_unique<SparseExtentImpl>(std::move(file), header, std::move(gd), size);
}

Result<SparseExtentInfo> read_sparse_info(const RandomAccessFile& file) {
  return read_info_impl(file);
}

Result<OpenedSparse> open_sparse_extent(std::shared_ptr<const RandomAccessFile> file,
                                        std::optional<std::uint64_t> size_bytes,
                                        DiagnosticFn on_diagnostic) {
  VDISK_ASSIGN_OR_RETURN(SparseExtentInfo info, read_info_impl(*file));
  const SparseHeader& h = info.header;
  const std::uint64_t capacity = h.capacity * kSector;  // bounded by kMaxCapacitySectors
  const std::uint64_t size = size_bytes.value_or(capacity);
  if (size > capacity)
    return corrupt(
        fmt::format("vmdk: sparse extent {}: descriptor size {} bytes exceeds the header "
                    "capacity {} bytes",
                    file->name(), size, capacity));
  if (h.compressed() && !h.markers())
    return unsupported(
        fmt::format("vmdk: sparse extent {}: compressed grains without markers", file->name()));
  const std::uint64_t entries = h.gd_entries();
  const std::uint64_t gd_bytes = entries * 4;  // entries <= 2^40, no overflow
  const auto gd_at = detail::checked_mul(h.gd_offset, kSector);
  if (gd_bytes > kMaxGdBytes)
    return resource_exhausted(
        fmt::format("vmdk: sparse extent {}: grain directory of {} bytes "
                    "exceeds the {} byte limit",
                    file->name(), gd_bytes, kMaxGdBytes));
  if (!gd_at || !detail::range_inside(*gd_at, gd_bytes, file->size()))
    return corrupt_at("vmdk", "grain directory", gd_at.value_or(0),
                      fmt::format("{} entries at sector {} lie past the end of {} ({} bytes)",
                                  entries, h.gd_offset, file->name(), file->size()));
  const bool markers_layout = info.used_footer && h.markers();
  if (markers_layout)
    VDISK_RETURN_IF_ERROR(check_marker_before(*file, *gd_at, MarkerType::grain_directory, gd_bytes,
                                              "grain directory"));
  std::vector<std::byte> raw(static_cast<std::size_t>(gd_bytes));
  VDISK_RETURN_IF_ERROR(file->read_at(*gd_at, raw));
  Table gd(static_cast<std::size_t>(entries));
  for (std::size_t i = 0; i < gd.size(); ++i)
    gd[i] = detail::load_le32(std::span<const std::byte>(raw).subspan(i * 4));
  OpenedSparse out;
  out.reader = std::make_unique<SparseExtentImpl>(std::move(file), h, std::move(gd), size,
                                                  std::move(on_diagnostic), markers_layout);
  out.info = std::move(info);
  return out;
}

}  // namespace vdisk::vmdk
