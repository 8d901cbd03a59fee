// Writing the GCP tarball (see gcp.h).
//
// The sink (TarMemberSink) receives every byte of disk.raw in order, as any target's sink does,
// and stores the bytes inside the planned regions (zeros in a region are stored too) and drops
// the holes, so only region bytes reach the gzip stream, in the order the already written sparse
// map promises.
#include <algorithm>

#include <fmt/format.h>

#include "formats/gcp/gcp.h"
#include "formats/gcp/gzip_sink.h"
#include "base/checked.h"
#include "base/ids.h"
#include "base/zero.h"

namespace vdisk::gcp {
namespace {

// Stores the member's data: bytes inside `regions` (everything, for a regular member), then on
// finish() the padding, the end of archive and the gzip trailer.
class TarMemberSink final : public BlockSink {
 public:
  static Result<std::unique_ptr<TarMemberSink>> create(std::unique_ptr<GzipSink> gz,
                                                       MemberSpec spec) {
    VDISK_ASSIGN_OR_RETURN(auto header, encode_member_header(spec));
    VDISK_RETURN_IF_ERROR(gz->write(header));
    return std::unique_ptr<TarMemberSink>(new TarMemberSink(std::move(gz), std::move(spec)));
  }

  Status write(std::uint64_t offset, std::span<const std::byte> data) override {
    return route(offset, data.size(), data.data(), nullptr);
  }
  // The stored parts go to the gzip sink lent (compressed in place, no copy).
  Status write_lent(std::uint64_t offset, std::span<const std::byte> data,
                    std::shared_ptr<const void> keep) override {
    return route(offset, data.size(), data.data(), keep);
  }
  Status write_zeroes(std::uint64_t offset, std::uint64_t length) override {
    return route(offset, length, nullptr, nullptr);
  }

  Status finish() override {
    if (next_ != spec_.real_size || stored_ != stored_bytes(spec_))
      return internal_error(fmt::format("gcp: member ended at {} of {} with {} of {} bytes stored",
                                        next_, spec_.real_size, stored_, stored_bytes(spec_)));
    VDISK_RETURN_IF_ERROR(gz_->write_zeroes(end_of_archive_bytes(gz_->position())));
    return gz_->finish();
  }

  const GzipSink& gzip() const { return *gz_; }
  const MemberSpec& spec() const { return spec_; }

 private:
  TarMemberSink(std::unique_ptr<GzipSink> gz, MemberSpec spec)
      : gz_(std::move(gz)), spec_(std::move(spec)) {}

  // Splits [offset, offset + length) into region parts (stored) and hole parts (dropped).
  Status route(std::uint64_t offset, std::uint64_t length, const std::byte* data,
               const std::shared_ptr<const void>& keep) {
    if (offset != next_)
      return internal_error(fmt::format("gcp: write at {} but the member is at {}", offset, next_));
    if (!detail::range_inside(offset, length, spec_.real_size))
      return invalid_argument(
          fmt::format("gcp: the disk is larger than the {} bytes announced "
                      "in the tar header",
                      spec_.real_size));
    std::uint64_t at = offset, left = length;
    while (left > 0) {
      std::uint64_t n = left;
      bool stored = true;
      if (spec_.sparse) {
        const auto& rs = spec_.regions;
        while (region_ < rs.size() && rs[region_].offset + rs[region_].length <= at) ++region_;
        if (region_ < rs.size() && rs[region_].offset <= at) {
          n = std::min(left, rs[region_].offset + rs[region_].length - at);
        } else {
          stored = false;
          if (region_ < rs.size()) n = std::min(left, rs[region_].offset - at);
        }
      }
      const std::byte* p = data ? data + (at - offset) : nullptr;
      if (stored) {
        VDISK_RETURN_IF_ERROR(p ? gz_->write_lent({p, static_cast<std::size_t>(n)}, keep)
                                : gz_->write_zeroes(n));
        stored_ += n;
      } else if (p && !detail::is_zero({p, static_cast<std::size_t>(n)})) {
        return internal_error(fmt::format("gcp: non-zero data at {} outside the sparse map", at));
      }
      at += n;
      left -= n;
    }
    next_ = offset + length;
    return {};
  }

  std::unique_ptr<GzipSink> gz_;
  MemberSpec spec_;
  std::uint64_t next_ = 0;
  std::uint64_t stored_ = 0;
  std::size_t region_ = 0;
};

// Widens `r` to `align` and appends it, merging with the last region when they touch.
void add_region(std::vector<SparseRegion>& out, std::uint64_t begin, std::uint64_t end,
                std::uint64_t align, std::uint64_t limit) {
  begin -= begin % align;
  end = std::min(limit, end % align ? end + (align - end % align) : end);
  if (!out.empty() && begin <= out.back().offset + out.back().length) {
    const std::uint64_t last_end = out.back().offset + out.back().length;
    out.back().length = std::max(last_end, end) - out.back().offset;
    return;
  }
  out.push_back({begin, end - begin});
}

void coarsen(std::vector<SparseRegion>& regions, std::uint64_t align, std::uint64_t limit) {
  std::vector<SparseRegion> merged;
  for (const auto& r : regions) add_region(merged, r.offset, r.offset + r.length, align, limit);
  regions.swap(merged);
}

GzipOptions gzip_options(const WriterOptions& o) {
  GzipOptions g;
  g.level = o.level;
  g.threads = o.threads;
  return g;
}

}  // namespace

Result<std::uint64_t> disk_size(std::uint64_t source_size) {
  auto r = detail::round_up(std::max<std::uint64_t>(source_size, 1), detail::kGiB);
  if (!r)
    return invalid_argument(fmt::format("gcp: size {} cannot be rounded up to a GiB", source_size));
  return *r;
}

Result<std::vector<SparseRegion>> plan_regions(const BlockSource& src, std::uint64_t real_size,
                                               const WriterOptions& options,
                                               std::uint64_t map_window) {
  std::uint64_t align = options.region_align;
  if (align < kTarBlock || !detail::is_power_of_two(align) || align > detail::kGiB)
    return invalid_argument(
        fmt::format("gcp: region alignment {} must be a power of two in "
                    "[512, 1 GiB]",
                    align));
  if (options.max_regions < 1) return invalid_argument("gcp: max_regions must be >= 1");
  if (map_window == 0) map_window = detail::kGiB;
  const std::uint64_t size = src.size();
  std::vector<SparseRegion> regions;
  std::vector<Extent> extents;
  for (std::uint64_t win = 0; win < size; win += std::min(map_window, size - win)) {
    const std::uint64_t len = std::min(map_window, size - win);
    extents.clear();
    VDISK_RETURN_IF_ERROR(src.map(win, len, extents));
    std::uint64_t at = win;
    for (const Extent& e : extents) {
      if (e.offset != at || e.length == 0 || !detail::range_inside(e.offset, e.length, win + len))
        return internal_error(fmt::format("{}: map of [{}, +{}) is not contiguous at {}",
                                          src.format(), win, len, at));
      at = e.end();
      if (e.kind == ExtentKind::data) add_region(regions, e.offset, e.end(), align, real_size);
      // A bounded map: double the granularity until the region count fits. Widened regions only
      // store more zeros; the map stays exact about where data may be.
      while (regions.size() > options.max_regions && align < detail::kGiB) {
        align *= 2;
        coarsen(regions, align, real_size);
      }
    }
    if (at != win + len)
      return internal_error(
          fmt::format("{}: map of [{}, +{}) ends at {}", src.format(), win, len, at));
  }
  return regions;
}

Result<MemberSpec> plan_member(std::uint64_t disk_size, const BlockSource* map,
                               const WriterOptions& options, std::uint64_t map_window) {
  MemberSpec spec;
  spec.real_size = disk_size;
  spec.mtime = options.mtime;
  if (!map) return spec;
  if (map->size() != disk_size)
    return internal_error(
        fmt::format("gcp: the map covers {} bytes of a {}-byte disk.raw", map->size(), disk_size));
  VDISK_ASSIGN_OR_RETURN(auto regions, plan_regions(*map, disk_size, options, map_window));
  const bool dense =
      regions.size() == 1 && regions[0].offset == 0 && regions[0].length == disk_size;
  spec.sparse = !dense;
  if (spec.sparse) spec.regions = std::move(regions);
  return spec;
}

Result<std::unique_ptr<BlockSink>> make_tar_sink(std::unique_ptr<ByteSink> out,
                                                 std::uint64_t disk_size, const BlockSource* map,
                                                 const WriterOptions& options,
                                                 std::uint64_t map_window) {
  VDISK_ASSIGN_OR_RETURN(const std::uint64_t ruled, gcp::disk_size(disk_size));
  if (ruled != disk_size)
    return invalid_argument(fmt::format(
        "gcp: disk.raw of {} bytes is not a whole GiB (the disk was not padded; next: {})",
        disk_size, ruled));
  VDISK_ASSIGN_OR_RETURN(auto spec, plan_member(disk_size, map, options, map_window));
  VDISK_ASSIGN_OR_RETURN(auto gz, make_gzip_sink(std::move(out), gzip_options(options)));
  VDISK_ASSIGN_OR_RETURN(auto sink, TarMemberSink::create(std::move(gz), std::move(spec)));
  return std::unique_ptr<BlockSink>(std::move(sink));
}

}  // namespace vdisk::gcp
