// convert(): the destination checks, then the straight line every target shares (image.h):
// open, prepare (padded view), create_target, copy; plus checksums and the report. No target is
// named here: what differs between targets is data in their TargetDriver.
#include <fmt/format.h>

#include "base/threads.h"
#include "boot/cloud_boot.h"
#include "boot/disk_boot.h"
#include "checksum/checksum_sinks.h"
#include "contract/format_driver.h"
#include "contract/machines.h"
#include "contract/target_driver.h"
#include "image/convert_progress.h"
#include "image/incremental.h"
#include "vdisk/cloud.h"
#include "vdisk/image.h"
#include "vdisk/remote.h"

namespace vdisk {
namespace {

// Tells what padding did: a note for the new size and a relocated GPT, a warning for a GPT left
// stale or invalid.
void diagnose_padding(const ConvertOptions& o, const ConvertReport& r) {
  if (r.output_size != r.source_size)
    detail::diagnose(o.open, Diagnostic::Level::note,
                     fmt::format("{}: virtual size padded from {} to {} bytes (+{})", r.target,
                                 r.source_size, r.output_size, r.output_size - r.source_size));
}

void diagnose_gpt(const ConvertOptions& o, const GptReport& g) {
  switch (g.action) {
    case GptReport::Action::relocated:
      detail::diagnose(o.open, Diagnostic::Level::note, g.message);
      break;
    case GptReport::Action::invalid:
    case GptReport::Action::stale:
      detail::diagnose(o.open, Diagnostic::Level::warning, g.message);
      break;
    default:
      break;
  }
}

// The destination, checked before the input is read or any diagnostic is given: the same file
// as the input, an existing DST without overwrite, a directory, a missing or read-only parent, a
// name the target's consumer refuses.
Status check_destination(const ImageInput& in, const ImageOutput& out,
                         const detail::TargetDriver& d, const ConvertOptions& options,
                         const FileSinkOptions& fo) {
  if (!in.stream && !in.file && !out.sink && !out.remote && same_file(in.path, out.path))
    return invalid_argument(
        fmt::format("{}: output is the input file; refusing to write over it", out.path.string()));
  if (options.verify_upload && !out.remote)
    return invalid_argument(
        "convert: verify_upload reads an upload back, and this output is not a cloud object");
  if (out.remote) {
    VDISK_ASSIGN_OR_RETURN(const TargetInfo target, target_info(d.name));
    VDISK_RETURN_IF_ERROR(
        check_destination_takes(out.remote->caps(), target, out.remote->display_name()));
    VDISK_RETURN_IF_ERROR(
        out.remote->configure(options.output.settings, options.open.on_diagnostic));
    return out.remote->validate();
  }
  if (!d.destination.empty())
    return invalid_argument(fmt::format(
        "{}: --to {} writes a cloud object, not a file or a stream (vdconvert: DST ebs:)",
        out.path.string(), d.name));
  if (out.sink) return {};
  VDISK_RETURN_IF_ERROR(check_output_path(out.path, fo));
  if (!d.name_suffix.empty() && !options.any_output_name &&
      !out.path.filename().string().ends_with(d.name_suffix))
    return invalid_argument(
        fmt::format("{}: a {} output must be named *{} (its consumer refuses other names); use "
                    "--force-name to write it anyway",
                    out.path.string(), d.name, d.name_suffix));
  return {};
}

// Digests of the output (a wrapper around its bytes) and of the disk: from the output's prefix
// when the output is the disk plus a trailer, else from the pipeline's tap.
class Digests {
 public:
  Digests(const detail::TargetDriver& d, bool enabled) : d_(d), enabled_(enabled) {}

  std::unique_ptr<ByteSink> wrap(std::unique_ptr<ByteSink> bytes, PipelineOptions& po) {
    if (!enabled_) return bytes;
    artifact_ = std::make_shared<checksum::ArtifactDigests>();
    if (!d_.disk_trailer_bytes) po.tap = &disk_;
    return checksum::hashing_sink(std::move(bytes), d_.disk_trailer_bytes.value_or(0), artifact_);
  }

  Status fill(std::uint64_t disk_size, std::optional<Checksums>& out) const {
    if (!enabled_) return {};
    if (!artifact_->done) return internal_error("checksums: the output was not finished");
    Checksums c;
    c.artifact_bytes = artifact_->bytes;
    c.artifact_sha256 = artifact_->sha256;
    c.artifact_md5 = artifact_->md5;
    c.artifact_md5_base64 = artifact_->md5_base64;
    c.artifact_crc32c = artifact_->crc32c;
    c.artifact_crc32c_base64 = artifact_->crc32c_base64;
    const bool prefix = d_.disk_trailer_bytes.has_value();
    c.disk_bytes = prefix ? artifact_->prefix_bytes : disk_size;
    c.disk_sha256 = prefix ? artifact_->prefix_sha256 : disk_.hex(disk_size);
    if (c.disk_bytes != disk_size)
      return internal_error(
          fmt::format("checksums: hashed {} bytes of a {}-byte disk", c.disk_bytes, disk_size));
    out = std::move(c);
    return {};
  }

 private:
  const detail::TargetDriver& d_;
  bool enabled_;
  std::shared_ptr<checksum::ArtifactDigests> artifact_;
  mutable checksum::DiskHasher disk_;
};

// What the disk the target receives boots, and what to tell its cloud (docs/boot.md); a warning
// when the cloud will not find its partitions (a GPT of 4096-byte LBAs on 512-byte sectors).
Result<std::optional<BootSummary>> boot_summary(const detail::TargetDriver& d,
                                                const BlockSource& disk,
                                                const ConvertOptions& options) {
  VDISK_ASSIGN_OR_RETURN(const boot::DiskBootFacts facts, boot::read_disk_boot(disk));
  BootSummary b;
  b.bios = facts.bios;
  b.uefi = facts.uefi;
  b.data_disk = facts.data_disk;
  b.summary = facts.summary;
  const std::string_view cloud = d.machine.empty() ? d.boot_cloud : d.machine;
  for (const detail::MachineFacts& m : detail::machines()) {
    if (!cloud.empty() && m.name != cloud) continue;
    const boot::CloudBootSetting s = boot::cloud_boot_setting(facts, m);
    b.clouds.push_back(BootSummary::Cloud{s.cloud, s.boots, s.setting, s.reason});
  }
  if (facts.gpt_present && facts.gpt_lba_size == 4096 && options.open.on_diagnostic)
    options.open.on_diagnostic(Diagnostic{
        Diagnostic::Level::warning,
        fmt::format("{}: the GPT uses 4096-byte LBAs, but the clouds present 512-byte sectors: "
                    "the disk will read as if it had no partition table and will not boot",
                    d.name)});
  return std::optional<BootSummary>(std::move(b));
}

}  // namespace

Status RemoteOutput::set_source(std::string_view, const ChangeSet* changes) {
  if (changes)
    return unsupported(fmt::format(
        "{}: this destination takes full copies only, not an incremental one (since {})",
        display_name(), changes->base));
  return {};
}

Status check_destination_takes(const DestinationCaps& caps, const TargetInfo& target,
                               std::string_view display) {
  const auto takes = [&](const TargetInfo& t) {
    if (t.remote_only) return t.destination == caps.kind;
    switch (t.layout) {
      case OutputLayout::disk:
        return caps.takes_disk;
      case OutputLayout::fixed_vhd:
        return caps.takes_fixed_vhd;
      case OutputLayout::encoded:
        return caps.takes_encoded;
    }
    return false;
  };
  if (takes(target)) return {};
  std::vector<std::string> fit;
  for (const std::string_view name : target_names()) {
    auto t = target_info(name);
    if (t.ok() && takes(*t)) fit.push_back(fmt::format("--to {}", name));
  }
  std::string what = "writes only into " + target.destination;
  if (!target.remote_only) switch (target.layout) {
      case OutputLayout::disk:
        what = "writes the disk's bytes";
        break;
      case OutputLayout::fixed_vhd:
        what = "writes a fixed VHD";
        break;
      case OutputLayout::encoded:
        what = "writes an encoded stream (not the disk's bytes)";
        break;
    }
  const std::string where = display == caps.description
                                ? std::string(display)
                                : fmt::format("{}: {}", display, caps.description);
  return invalid_argument(fmt::format(
      "{} takes {}; --to {} {}", where,
      fit.empty() ? "no target" : fmt::format("{}", fmt::join(fit, " or ")), target.name, what));
}

Result<ConvertReport> convert(ImageInput in, ImageOutput out, const ConvertOptions& options,
                              std::stop_token stop) {
  detail::ProgressTracker progress(options.on_progress, out.remote);
  progress.enter(ProgressPhase::open);
  VDISK_ASSIGN_OR_RETURN(const auto* driver, detail::require_target_driver(options.target));
  const detail::TargetDriver& d = *driver;
  FileSinkOptions fo;
  fo.overwrite = options.overwrite;
  fo.sync = options.sync;
  VDISK_RETURN_IF_ERROR(check_target_options(d.name, options.output));
  VDISK_RETURN_IF_ERROR(check_destination(in, out, d, options, fo));
  TargetOptions to = options.output;
  if (to.file_name.empty()) to.file_name = out.path.filename().string();

  // Then the input: a bad input creates no output.
  OpenOptions open = options.open;
  open.boot_disk = open.boot_disk || d.boots;
  if (open.boot_machine.empty()) open.boot_machine = std::string(d.machine);
  ConvertReport report;
  report.target = d.name;
  std::unique_ptr<BlockSource> source;
  std::unique_ptr<StreamSource> stream;
  PreparedDisk disk;
  std::unique_ptr<PreparedStream> padded_stream;
  std::optional<std::uint64_t> disk_size;
  const RemoteFile* remote_in = nullptr;  // lives as long as `source`
  std::optional<ChangeSet> changes;       // an incremental move's output ranges
  if (in.stream) {
    VDISK_ASSIGN_OR_RETURN(stream, open_image_stream(std::move(in.stream), open));
    VDISK_ASSIGN_OR_RETURN(padded_stream, prepare_stream(d.name, *stream, to));
    disk_size = padded_stream->size();
    progress.set_totals(disk_size.value_or(0), 0);
  } else {
    if (in.file) {
      // A remote object: it may know what changed since an earlier version, which only a
      // destination holding that version takes (incremental.h); the change ranges are the
      // disk's bytes, so such a source is read as raw.
      remote_in = dynamic_cast<const RemoteFile*>(in.file.get());
      if (remote_in && remote_in->changes()) {
        VDISK_ASSIGN_OR_RETURN(const TargetInfo target, target_info(d.name));
        VDISK_RETURN_IF_ERROR(
            detail::check_incremental(target, out.remote != nullptr, in.path.string()));
        open.format = "raw";
      }
      VDISK_ASSIGN_OR_RETURN(source, open_image(std::move(in.file), {}, open));
    } else {
      VDISK_ASSIGN_OR_RETURN(source, open_image(in.path, open));
    }
    if (to.detect_zeroes && d.reads_map) progress.enter(ProgressPhase::scan);
    VDISK_ASSIGN_OR_RETURN(
        disk, prepare_disk(d.name, *source, to, options.pipeline, progress.pipeline_fn(), stop));
    disk_size = disk.disk->size();
    if (remote_in && remote_in->changes()) {
      changes = detail::output_changes(*remote_in->changes(), source->size(), *disk_size, disk.gpt);
      report.changed_bytes = detail::changed_bytes(*changes);
      disk.disk = detail::changed_only(std::move(disk.disk), *changes);
    }
    report.gpt = disk.gpt;
    if (d.boots) {
      VDISK_ASSIGN_OR_RETURN(report.boot, boot_summary(d, *disk.disk, options));
    }
    report.zero_scan_read_bytes = disk.zero_scan_read_bytes;
    report.zero_scan_data_bytes = disk.zero_scan_data_bytes;
    if (progress.enabled()) {
      // What the copy will read (zero runs cost nothing): the ETA's measure. A map that fails
      // here fails the copy too, with its own error: progress never changes the outcome.
      auto data = detail::mapped_data_bytes(*disk.disk, options.pipeline.map_window_bytes);
      progress.set_totals(*disk_size, data.ok() ? *data : 0);
    }
  }

  std::unique_ptr<ByteSink> bytes = std::move(out.sink);
  if (out.remote) {
    // The output's size when the target knows it now: the disk and its trailer.
    std::optional<std::uint64_t> output_bytes;
    if (d.disk_trailer_bytes && disk_size) output_bytes = *disk_size + *d.disk_trailer_bytes;
    VDISK_RETURN_IF_ERROR(out.remote->set_source(remote_in ? remote_in->identity() : std::string(),
                                                 changes ? &*changes : nullptr));
    if (options.verify_upload) VDISK_RETURN_IF_ERROR(out.remote->keep_digests());
    VDISK_ASSIGN_OR_RETURN(bytes, out.remote->open(output_bytes, stop));
  } else if (!bytes) {
    VDISK_ASSIGN_OR_RETURN(bytes, create_file_sink(out.path, fo));
  }
  PipelineOptions po = options.pipeline;
  // Finished here, as its own phase (the last uploads, the commit, fsync and rename).
  po.finish_sink = false;
  if (out.remote && po.max_buffers == 0) {
    // An upload buffers in its request buffers already; the pipeline keeps one chunk per worker
    // and two more (not 2 per worker + 2): the network, not the workers, sets the pace, and the
    // process's peak stays within 64 MiB (bench/RESULTS.md, "Uploads within 64 MiB").
    po.max_buffers = std::size_t{detail::resolve_threads(po.threads)} + 2;
  }
  Digests digests(d, options.checksums);
  bytes = digests.wrap(std::move(bytes), po);
  bytes = progress.count(std::move(bytes));
  const ByteSink* written = bytes.get();

  std::unique_ptr<BlockSink> sink;
  if (source) {
    VDISK_ASSIGN_OR_RETURN(sink, create_target(d.name, std::move(bytes), *disk.disk, to));
    progress.enter(ProgressPhase::copy);
    VDISK_ASSIGN_OR_RETURN(report.stats, copy(*disk.disk, *sink, po, progress.pipeline_fn(), stop));
    progress.set_copied(report.stats);
    progress.enter(ProgressPhase::finish);
    VDISK_RETURN_IF_ERROR(sink->finish());
    report.source_format = std::string(source->format());
    report.source_size = source->size();
    if (remote_in) report.source_stats = remote_in->stats();
  } else {
    VDISK_ASSIGN_OR_RETURN(sink, create_target(d.name, std::move(bytes), disk_size, to));
    progress.enter(ProgressPhase::copy);
    VDISK_ASSIGN_OR_RETURN(report.stats,
                           copy(*padded_stream, *sink, po, progress.pipeline_fn(), stop));
    progress.set_copied(report.stats);
    progress.enter(ProgressPhase::finish);
    VDISK_RETURN_IF_ERROR(sink->finish());
    // A stream may learn its format at its end (a fixed VHD's footer), and a raw stream its size.
    report.source_format = std::string(stream->format());
    report.gpt = padded_stream->gpt();
    report.source_size = padded_stream->source_bytes();
  }
  report.output_size = report.stats.virtual_bytes;
  report.output_bytes = written->position();
  // The upload is complete: read it back (the finish phase goes on meanwhile).
  if (options.verify_upload) VDISK_RETURN_IF_ERROR(out.remote->verify(stop));
  VDISK_RETURN_IF_ERROR(digests.fill(report.output_size, report.checksums));
  diagnose_gpt(options, report.gpt);
  diagnose_padding(options, report);
  progress.enter(ProgressPhase::done);
  return report;
}

}  // namespace vdisk
