// The zero-scan pre-pass (see zero_scan.h): the copy pipeline already reads in parallel and
// splits buffers into zero and data runs in offset order, so the scan is a copy into a sink that
// only records where the data runs are.
#include "pipeline/zero_scan.h"

#include <algorithm>
#include <vector>

#include <fmt/format.h>

#include "base/checked.h"

namespace vdisk::detail {
namespace {

struct Run {
  std::uint64_t offset;
  std::uint64_t length;
  std::uint64_t end() const { return offset + length; }
};

class RunRecorder final : public BlockSink {
 public:
  RunRecorder(std::size_t granularity, std::size_t max_runs)
      : gran_(granularity), max_runs_(max_runs) {}

  Status write(std::uint64_t offset, std::span<const std::byte> data) override {
    add(offset, data.size());
    return {};
  }
  Status write_zeroes(std::uint64_t, std::uint64_t) override { return {}; }
  Status finish() override { return {}; }

  std::vector<Run> take() { return std::move(runs_); }

 private:
  // Appends [offset, offset + length) widened to the granularity, merging when they touch.
  void add(std::uint64_t offset, std::uint64_t length) {
    if (length == 0) return;
    const std::uint64_t begin = offset - offset % gran_;
    const std::uint64_t end = offset + length;
    if (!runs_.empty() && begin <= runs_.back().end()) {
      runs_.back().length = std::max(runs_.back().end(), end) - runs_.back().offset;
    } else {
      runs_.push_back({begin, end - begin});
    }
    while (runs_.size() > max_runs_) coarsen();
  }
  void coarsen() {
    gran_ *= 2;
    std::vector<Run> merged;
    for (const Run& r : runs_) {
      const std::uint64_t begin = r.offset - r.offset % gran_;
      if (!merged.empty() && begin <= merged.back().end())
        merged.back().length = std::max(merged.back().end(), r.end()) - merged.back().offset;
      else
        merged.push_back({begin, r.end() - begin});
    }
    runs_.swap(merged);
  }

  std::uint64_t gran_;
  std::size_t max_runs_;
  std::vector<Run> runs_;
};

// The source with the recorded map: data inside runs, zero elsewhere.
class ScannedSource final : public BlockSource {
 public:
  ScannedSource(const BlockSource& src, std::vector<Run> runs)
      : src_(src), runs_(std::move(runs)) {}

  std::uint64_t size() const override { return src_.size(); }
  Status read(std::uint64_t offset, std::span<std::byte> dst) const override {
    return src_.read(offset, dst);
  }
  Status map(std::uint64_t offset, std::uint64_t length, std::vector<Extent>& out) const override {
    if (!range_inside(offset, length, size()))
      return out_of_range(fmt::format("{}: map [{}, +{}) past {}", src_.format(), offset, length,
                                      size()));
    const std::uint64_t end = offset + length;
    auto it = std::upper_bound(runs_.begin(), runs_.end(), offset,
                               [](std::uint64_t o, const Run& r) { return o < r.end(); });
    std::uint64_t at = offset;
    for (; it != runs_.end() && it->offset < end; ++it) {
      const std::uint64_t s = std::max(at, it->offset);
      const std::uint64_t e = std::min(end, it->end());
      append_extent(out, {at, s - at, ExtentKind::zero});
      append_extent(out, {s, e - s, ExtentKind::data});
      at = e;
    }
    append_extent(out, {at, end - at, ExtentKind::zero});
    return {};
  }
  std::string_view format() const override { return src_.format(); }
  void describe(Properties& out) const override { src_.describe(out); }

 private:
  const BlockSource& src_;
  std::vector<Run> runs_;
};

}  // namespace

Result<ZeroScanResult> scan_zeroes(const BlockSource& src, const PipelineOptions& pipeline,
                                   const ZeroScanOptions& options, const ProgressFn& on_progress,
                                   std::stop_token stop) {
  if (options.block_bytes < 512 || !is_power_of_two(options.block_bytes) ||
      options.block_bytes > pipeline.chunk_bytes)
    return invalid_argument(fmt::format("zero scan: block size {} must be a power of two in "
                                        "[512, chunk size {}]",
                                        options.block_bytes, pipeline.chunk_bytes));
  if (options.max_runs < 1) return invalid_argument("zero scan: max_runs must be >= 1");
  PipelineOptions po = pipeline;
  po.zero_block_bytes = options.block_bytes;
  po.finish_sink = false;
  RunRecorder recorder(options.block_bytes, options.max_runs);
  VDISK_ASSIGN_OR_RETURN(const CopyStats stats, copy(src, recorder, po, on_progress, stop));
  ZeroScanResult r;
  auto runs = recorder.take();
  r.scanned_bytes = stats.read_bytes;
  r.runs = runs.size();
  for (const Run& run : runs) r.data_bytes += run.length;
  r.source = std::make_unique<ScannedSource>(src, std::move(runs));
  return r;
}

}  // namespace vdisk::detail
