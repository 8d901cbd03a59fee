// Writing the GCP tarball (see gcp.h).
//
// The sparse path runs the ordinary copy pipeline over a view of the source (PlannedSource)
// whose size is the padded disk.raw size and whose map is exactly the planned regions, into a
// BlockSink (TarMemberSink) that stores bytes inside regions and drops the holes. So the sink
// receives every byte of disk.raw in order, but only region bytes reach the gzip stream, in the
// order the already written sparse map promises.
#include <algorithm>
#include <chrono>

#include <fmt/format.h>

#include "gcp/gcp.h"
#include "gcp/gzip_sink.h"
#include "util/checked.h"
#include "util/zero.h"

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
    return route(offset, data.size(), data.data());
  }
  Status write_zeroes(std::uint64_t offset, std::uint64_t length) override {
    return route(offset, length, nullptr);
  }

  Status finish() override {
    if (!spec_.sparse && next_ < spec_.real_size) {
      const std::uint64_t pad = spec_.real_size - next_;
      VDISK_RETURN_IF_ERROR(gz_->write_zeroes(pad));
      stored_ += pad;
      next_ = spec_.real_size;
    }
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
  Status route(std::uint64_t offset, std::uint64_t length, const std::byte* data) {
    if (offset != next_)
      return internal_error(fmt::format("gcp: write at {} but the member is at {}", offset,
                                        next_));
    if (!detail::range_inside(offset, length, spec_.real_size))
      return invalid_argument(fmt::format("gcp: the disk is larger than the {} bytes announced "
                                          "in the tar header", spec_.real_size));
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
        VDISK_RETURN_IF_ERROR(p ? gz_->write({p, static_cast<std::size_t>(n)})
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

// The source seen as disk.raw: padded with zeros to `size`, mapped exactly as `regions`.
class PlannedSource final : public BlockSource {
 public:
  PlannedSource(const BlockSource& src, std::uint64_t size, std::vector<SparseRegion> regions)
      : src_(src), size_(size), regions_(std::move(regions)) {}

  std::uint64_t size() const override { return size_; }

  Status read(std::uint64_t offset, std::span<std::byte> dst) const override {
    if (!detail::range_inside(offset, dst.size(), size_))
      return out_of_range(fmt::format("gcp: read [{}, +{}) past {}", offset, dst.size(), size_));
    const std::uint64_t have = src_.size();
    std::size_t real = 0;
    if (offset < have)
      real = static_cast<std::size_t>(std::min<std::uint64_t>(dst.size(), have - offset));
    if (real > 0) VDISK_RETURN_IF_ERROR(src_.read(offset, dst.first(real)));
    std::fill(dst.begin() + static_cast<std::ptrdiff_t>(real), dst.end(), std::byte{0});
    return {};
  }

  Status map(std::uint64_t offset, std::uint64_t length, std::vector<Extent>& out) const override {
    const std::uint64_t end = offset + length;
    auto it = std::upper_bound(regions_.begin(), regions_.end(), offset,
                               [](std::uint64_t o, const SparseRegion& r) {
                                 return o < r.offset + r.length;
                               });
    std::uint64_t at = offset;
    for (; it != regions_.end() && it->offset < end; ++it) {
      const std::uint64_t s = std::max(at, it->offset);
      const std::uint64_t e = std::min(end, it->offset + it->length);
      append_extent(out, {at, s - at, ExtentKind::unallocated});
      append_extent(out, {s, e - s, ExtentKind::data});
      at = e;
    }
    append_extent(out, {at, end - at, ExtentKind::unallocated});
    return {};
  }

  std::string_view format() const override { return src_.format(); }

 private:
  const BlockSource& src_;
  std::uint64_t size_;
  std::vector<SparseRegion> regions_;
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

WriterOptions writer_options(const TargetOptions& target) {
  WriterOptions o;
  o.level = target.gzip_level;
  o.threads = target.compress_threads;
  o.mtime = target.timestamp_unix
                ? std::max<std::int64_t>(0, *target.timestamp_unix)
                : std::chrono::duration_cast<std::chrono::seconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
  return o;
}

Result<std::uint64_t> disk_size(std::uint64_t source_size) {
  auto r = detail::round_up(std::max<std::uint64_t>(source_size, 1), detail::kGiB);
  if (!r) return invalid_argument(fmt::format("gcp: size {} cannot be rounded up to a GiB",
                                              source_size));
  return *r;
}

Result<std::vector<SparseRegion>> plan_regions(const BlockSource& src, std::uint64_t real_size,
                                               const WriterOptions& options,
                                               std::uint64_t map_window) {
  std::uint64_t align = options.region_align;
  if (align < kTarBlock || !detail::is_power_of_two(align) || align > detail::kGiB)
    return invalid_argument(fmt::format("gcp: region alignment {} must be a power of two in "
                                        "[512, 1 GiB]", align));
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
      return internal_error(fmt::format("{}: map of [{}, +{}) ends at {}", src.format(), win, len,
                                        at));
  }
  return regions;
}

Result<WriteResult> write_targz(const BlockSource& src, std::unique_ptr<ByteSink> out,
                                const WriterOptions& options, const PipelineOptions& pipeline,
                                const ProgressFn& on_progress, std::stop_token stop) {
  WriteResult result;
  VDISK_ASSIGN_OR_RETURN(result.disk_size, disk_size(src.size()));
  VDISK_ASSIGN_OR_RETURN(auto regions,
                         plan_regions(src, result.disk_size, options, pipeline.map_window_bytes));
  if (stop.stop_requested()) return cancelled("cancelled");
  MemberSpec spec;
  spec.real_size = result.disk_size;
  spec.mtime = options.mtime;
  const bool dense = regions.size() == 1 && regions[0].offset == 0 &&
                     regions[0].length == result.disk_size;
  spec.sparse = !dense;
  if (spec.sparse) spec.regions = regions;
  if (dense) regions = {{0, result.disk_size}};

  VDISK_ASSIGN_OR_RETURN(auto gz, make_gzip_sink(std::move(out), gzip_options(options)));
  VDISK_ASSIGN_OR_RETURN(auto sink, TarMemberSink::create(std::move(gz), std::move(spec)));
  PlannedSource planned(src, result.disk_size, std::move(regions));
  PipelineOptions po = pipeline;
  po.finish_sink = true;
  VDISK_ASSIGN_OR_RETURN(result.stats, copy(planned, *sink, po, on_progress, stop));
  result.sparse = sink->spec().sparse;
  result.regions = sink->spec().regions.size();
  result.stored_bytes = stored_bytes(sink->spec());
  result.archive_bytes = sink->gzip().position();
  result.output_bytes = sink->gzip().compressed_bytes();
  result.gzip_crc = sink->gzip().crc32();
  return result;
}

Result<std::unique_ptr<BlockSink>> make_dense_sink(std::unique_ptr<ByteSink> out,
                                                   std::uint64_t source_size,
                                                   const WriterOptions& options) {
  MemberSpec spec;
  VDISK_ASSIGN_OR_RETURN(spec.real_size, disk_size(source_size));
  spec.mtime = options.mtime;
  VDISK_ASSIGN_OR_RETURN(auto gz, make_gzip_sink(std::move(out), gzip_options(options)));
  VDISK_ASSIGN_OR_RETURN(auto sink, TarMemberSink::create(std::move(gz), std::move(spec)));
  return std::unique_ptr<BlockSink>(std::move(sink));
}

}  // namespace vdisk::gcp
