// The padded view of a source for a target: prepare_disk() for files, prepare_stream() for
// streams. One mechanism: the target's size rule, then, for targets that move the GPT, the same
// relocation plan (gpt_relocate.h) presented as a file view (relocated_source) or a stream view
// (padded_stream); the sinks receive the padded disk and never pad.
#include <fmt/format.h>

#include "contract/target_driver.h"
#include "gpt/gpt_relocate.h"
#include "gpt/gpt_stream.h"
#include "pipeline/zero_scan.h"
#include "vdisk/image.h"

namespace vdisk {
namespace {

// A GptReport from a relocation plan.
GptReport gpt_report(const gpt::Analysis& a) {
  GptReport report;
  report.message = a.message;
  switch (a.outcome) {
    case gpt::Analysis::Outcome::absent:
      report.action = GptReport::Action::absent;
      break;
    case gpt::Analysis::Outcome::unchanged:
      report.action = GptReport::Action::not_checked;
      break;
    case gpt::Analysis::Outcome::invalid:
      report.action = GptReport::Action::invalid;
      break;
    case gpt::Analysis::Outcome::stale:
      report.action = GptReport::Action::stale;
      break;
    case gpt::Analysis::Outcome::relocated: {
      const gpt::Relocation& r = a.relocation;
      report.action = GptReport::Action::relocated;
      report.lba_size = r.lba_size;
      report.old_backup_lba = r.old_backup_lba;
      report.new_backup_lba = r.new_backup_lba;
      report.partitions = r.partitions;
      break;
    }
  }
  return report;
}

// Owns a chain of views (the padded disk, then the zero scan's refinement of it) and serves the
// last one.
class ViewChain final : public BlockSource {
 public:
  ViewChain(std::unique_ptr<BlockSource> base, std::unique_ptr<BlockSource> top)
      : base_(std::move(base)), top_(std::move(top)) {}
  std::uint64_t size() const override { return top_->size(); }
  Status read(std::uint64_t offset, std::span<std::byte> dst) const override {
    return top_->read(offset, dst);
  }
  Status map(std::uint64_t offset, std::uint64_t length, std::vector<Extent>& out) const override {
    return top_->map(offset, length, out);
  }
  std::string_view format() const override { return top_->format(); }
  void describe(Properties& out) const override { top_->describe(out); }

 private:
  std::unique_ptr<BlockSource> base_;
  std::unique_ptr<BlockSource> top_;
};

class Prepared final : public PreparedStream {
 public:
  Prepared(std::unique_ptr<gpt::PaddedStream> view, bool kept) : view_(std::move(view)) {
    if (kept) kept_.action = GptReport::Action::kept;
  }
  std::optional<std::uint64_t> size() const override { return view_->size(); }
  Result<std::size_t> read(std::span<std::byte> dst) override { return view_->read(dst); }
  Result<StreamRun> next(std::span<std::byte> dst) override { return view_->next(dst); }
  std::string_view format() const override { return view_->format(); }
  PlacedStream* placed() override { return view_->placed(); }
  std::uint64_t source_bytes() const override { return view_->source_bytes(); }
  const GptReport& gpt() const override {
    if (kept_.action == GptReport::Action::kept) return kept_;
    report_ = gpt_report(view_->analysis());
    return report_;
  }

 private:
  std::unique_ptr<gpt::PaddedStream> view_;
  GptReport kept_;
  mutable GptReport report_;
};

}  // namespace

std::string_view gpt_action_name(GptReport::Action action) {
  switch (action) {
    case GptReport::Action::not_checked:
      return "not_checked";
    case GptReport::Action::kept:
      return "kept";
    case GptReport::Action::absent:
      return "absent";
    case GptReport::Action::invalid:
      return "invalid";
    case GptReport::Action::relocated:
      return "relocated";
    case GptReport::Action::stale:
      return "stale";
  }
  return "unknown";
}

Result<PreparedDisk> prepare_disk(std::string_view target, const BlockSource& source,
                                  const TargetOptions& options, const PipelineOptions& pipeline,
                                  const ProgressFn& on_progress, std::stop_token stop) {
  VDISK_ASSIGN_OR_RETURN(const auto* d, detail::require_target_driver(target));
  VDISK_ASSIGN_OR_RETURN(const std::uint64_t padded, d->virtual_size(source.size()));
  PreparedDisk out;
  std::vector<gpt::Patch> patches;
  if (padded != source.size() && d->relocates_gpt) {
    if (options.keep_gpt) {
      out.gpt.action = GptReport::Action::kept;
    } else {
      VDISK_ASSIGN_OR_RETURN(auto a, gpt::plan_relocation(source, padded));
      out.gpt = gpt_report(a);
      if (a.outcome == gpt::Analysis::Outcome::relocated) patches = std::move(a.relocation.patches);
    }
  }
  VDISK_ASSIGN_OR_RETURN(out.disk, gpt::relocated_source(source, padded, std::move(patches)));
  if (options.detect_zeroes && d->reads_map) {
    PipelineOptions so = pipeline;
    so.tap = nullptr;
    VDISK_ASSIGN_OR_RETURN(auto scan, detail::scan_zeroes(*out.disk, so, {}, on_progress, stop));
    out.zero_scan_read_bytes = scan.scanned_bytes;
    out.zero_scan_data_bytes = scan.data_bytes;
    out.disk = std::make_unique<ViewChain>(std::move(out.disk), std::move(scan.source));
  }
  return out;
}

Result<std::unique_ptr<PreparedStream>> prepare_stream(std::string_view target,
                                                       StreamSource& source,
                                                       const TargetOptions& options) {
  VDISK_ASSIGN_OR_RETURN(const auto* d, detail::require_target_driver(target));
  const bool relocate = d->relocates_gpt && !options.keep_gpt;
  VDISK_ASSIGN_OR_RETURN(auto view, gpt::padded_stream(source, d->virtual_size, relocate));
  bool kept = false;
  if (d->relocates_gpt && options.keep_gpt) {
    const auto s = source.size();
    kept = !s || *view->size() != *s;
  }
  return std::unique_ptr<PreparedStream>(std::make_unique<Prepared>(std::move(view), kept));
}

}  // namespace vdisk
