// convert(): open, size-check, create the output, run the pipeline, commit.
#include <fmt/format.h>

#include "checksum/checksum_sinks.h"
#include "gcp/gcp.h"
#include "gpt/gpt_relocate.h"
#include "gpt/gpt_stream.h"
#include "image/driver.h"
#include "pipeline/zero_scan.h"
#include "vdisk/image.h"
#include "vhd/vhd_footer.h"

namespace vdisk {
namespace {

// Bytes the output occupies for a given virtual size.
std::uint64_t output_bytes(Target target, std::uint64_t virtual_size) {
  return target == Target::raw ? virtual_size : virtual_size + vhd::kFooterSize;
}

void note_padding(const ConvertOptions& o, std::uint64_t from, std::uint64_t to) {
  if (to == from) return;
  detail::diagnose(o.open, Diagnostic::Level::note,
                   fmt::format("{}: virtual size padded from {} to {} bytes (+{})",
                               target_name(o.target), from, to, to - from));
}

// Fills `report` from a relocation plan and says what happened (note, or warning when the GPT
// is left stale).
void report_gpt(const gpt::Analysis& a, const ConvertOptions& o, GptReport& report) {
  report.message = a.message;
  switch (a.outcome) {
    case gpt::Analysis::Outcome::absent:
      report.action = GptReport::Action::absent;
      break;
    case gpt::Analysis::Outcome::unchanged:
      report.action = GptReport::Action::not_checked;
      break;
    case gpt::Analysis::Outcome::invalid:
    case gpt::Analysis::Outcome::stale:
      report.action = a.outcome == gpt::Analysis::Outcome::stale ? GptReport::Action::stale
                                                                 : GptReport::Action::invalid;
      detail::diagnose(o.open, Diagnostic::Level::warning, a.message);
      break;
    case gpt::Analysis::Outcome::relocated: {
      const gpt::Relocation& r = a.relocation;
      report.action = GptReport::Action::relocated;
      report.lba_size = r.lba_size;
      report.old_backup_lba = r.old_backup_lba;
      report.new_backup_lba = r.new_backup_lba;
      report.partitions = r.partitions;
      detail::diagnose(o.open, Diagnostic::Level::note, a.message);
      break;
    }
  }
}

// GPT-aware padding: returns the padded view of `source` with the GPT relocated, or nullptr
// when the source is to be copied as it is. Fills `report`.
Result<std::unique_ptr<BlockSource>> gpt_padding(const BlockSource& source, const ConvertOptions& o,
                                                 GptReport& report) {
  if (o.target != Target::azure && o.target != Target::gcp) return nullptr;
  VDISK_ASSIGN_OR_RETURN(const std::uint64_t padded, target_virtual_size(o.target, source.size()));
  if (padded == source.size()) return nullptr;
  if (o.output.keep_gpt) {
    report.action = GptReport::Action::kept;
    return nullptr;
  }
  VDISK_ASSIGN_OR_RETURN(auto a, gpt::plan_relocation(source, padded));
  report_gpt(a, o, report);
  if (a.outcome == gpt::Analysis::Outcome::relocated)
    return gpt::relocated_source(source, padded, a.relocation.patches);
  return nullptr;
}

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

Result<ConvertReport> convert(ImageInput in, ImageOutput out, const ConvertOptions& options,
                              std::stop_token stop) {
  // The destination is checked before the input is read or any diagnostic is given: the
  // same file as the input, an existing DST without overwrite, a directory, a missing or
  // read-only parent, a GCP tarball name GCP refuses.
  if (!in.stream && !out.sink && same_file(in.path, out.path))
    return invalid_argument(
        fmt::format("{}: output is the input file; refusing to write over it", out.path.string()));
  FileSinkOptions fo;
  fo.overwrite = options.overwrite;
  fo.sync = options.sync;
  if (!out.sink) {
    VDISK_RETURN_IF_ERROR(check_output_path(out.path, fo));
    if (options.target == Target::gcp && !options.any_output_name &&
        !out.path.filename().string().ends_with(".tar.gz"))
      return invalid_argument(fmt::format(
          "{}: a GCP image tarball must be named *.tar.gz (GCP's image import refuses other "
          "names); use --force-name to write it anyway",
          out.path.string()));
  }

  // Then the input: a bad input creates no output.
  std::unique_ptr<BlockSource> source;
  std::unique_ptr<StreamSource> stream;
  ConvertReport report;
  std::optional<std::uint64_t> size;
  if (in.stream) {
    VDISK_ASSIGN_OR_RETURN(stream, open_image_stream(std::move(in.stream), options.open));
    report.source_format = std::string(stream->format());
    size = stream->size();
  } else {
    VDISK_ASSIGN_OR_RETURN(source, open_image(in.path, options.open));
    report.source_format = std::string(source->format());
    size = source->size();
  }
  if (size) VDISK_RETURN_IF_ERROR(target_virtual_size(options.target, *size).status());
  std::unique_ptr<BlockSource> padded;
  if (source) {
    VDISK_ASSIGN_OR_RETURN(padded, gpt_padding(*source, options, report.gpt));
  }
  const BlockSource* src = padded ? padded.get() : source.get();

  std::unique_ptr<ByteSink> bytes = std::move(out.sink);
  if (!bytes) {
    VDISK_ASSIGN_OR_RETURN(bytes, create_file_sink(out.path, fo));
  }

  // Checksums: the artifact in a wrapper around the output bytes; the virtual disk as the
  // artifact's prefix (raw; fixed VHD without its footer) or, for the compressed gcp tarball,
  // from the pipeline's ordered writer.
  const bool disk_from_artifact = options.target != Target::gcp;
  std::shared_ptr<checksum::ArtifactDigests> digests;
  checksum::DiskHasher disk_hasher;
  PipelineOptions po = options.pipeline;
  po.finish_sink = true;
  if (options.checksums) {
    digests = std::make_shared<checksum::ArtifactDigests>();
    const bool vhd = options.target == Target::vhd || options.target == Target::azure;
    bytes = checksum::hashing_sink(std::move(bytes), vhd ? vhd::kFooterSize : 0, digests);
    if (!disk_from_artifact) po.tap = &disk_hasher;
  }
  auto fill_checksums = [&](std::uint64_t disk_size) -> Status {
    if (!digests) return {};
    if (!digests->done) return internal_error("checksums: the output was not finished");
    Checksums c;
    c.artifact_bytes = digests->bytes;
    c.artifact_sha256 = digests->sha256;
    c.artifact_md5 = digests->md5;
    c.artifact_md5_base64 = digests->md5_base64;
    c.artifact_crc32c = digests->crc32c;
    c.artifact_crc32c_base64 = digests->crc32c_base64;
    c.disk_bytes = disk_from_artifact ? digests->prefix_bytes : disk_size;
    c.disk_sha256 = disk_from_artifact ? digests->prefix_sha256 : disk_hasher.hex(disk_size);
    if (c.disk_bytes != disk_size)
      return internal_error(
          fmt::format("checksums: hashed {} bytes of a {}-byte disk", c.disk_bytes, disk_size));
    report.checksums = std::move(c);
    return {};
  };

  if (source && options.target == Target::gcp) {
    // A sparse tar member needs the whole map before its first byte: gcp walks it first, after
    // an optional zero scan that refines the map.
    const BlockSource* tar_src = src;
    std::unique_ptr<BlockSource> scanned;
    if (options.output.detect_zeroes) {
      PipelineOptions so = options.pipeline;
      so.tap = nullptr;
      VDISK_ASSIGN_OR_RETURN(auto scan,
                             detail::scan_zeroes(*src, so, {}, options.on_progress, stop));
      report.zero_scan_read_bytes = scan.scanned_bytes;
      report.zero_scan_data_bytes = scan.data_bytes;
      scanned = std::move(scan.source);
      tar_src = scanned.get();
    }
    VDISK_ASSIGN_OR_RETURN(
        auto w, gcp::write_targz(*tar_src, std::move(bytes), gcp::writer_options(options.output),
                                 po, options.on_progress, stop));
    report.stats = w.stats;
    report.source_size = *size;
    report.output_size = w.disk_size;
    report.output_bytes = w.output_bytes;
    VDISK_RETURN_IF_ERROR(fill_checksums(report.output_size));
    note_padding(options, report.source_size, report.output_size);
    return report;
  }
  const ByteSink* out_bytes = bytes.get();
  VDISK_ASSIGN_OR_RETURN(auto sink,
                         create_target(options.target, std::move(bytes), size, options.output));
  if (src) {
    VDISK_ASSIGN_OR_RETURN(report.stats, copy(*src, *sink, po, options.on_progress, stop));
    report.source_size = *size;
  } else {
    // GPT-aware padding of a stream: the sink holds the head back until the plan is made.
    gpt::GptStreamSink* gpt_sink = nullptr;
    if ((options.target == Target::azure || options.target == Target::gcp) &&
        !options.output.keep_gpt) {
      std::uint64_t new_size = 0;
      if (size) {
        VDISK_ASSIGN_OR_RETURN(new_size, target_virtual_size(options.target, *size));
      }
      if (!size || new_size != *size) {
        // The disk digest of a gcp tarball is taken after the patches (the tap sees the source).
        BlockSink* tap = po.tap;
        po.tap = nullptr;
        auto wrapped = gpt::make_gpt_stream_sink(std::move(sink), size, new_size, tap);
        gpt_sink = wrapped.get();
        sink = std::move(wrapped);
      }
    } else if (options.target == Target::azure || options.target == Target::gcp) {
      report.gpt.action = GptReport::Action::kept;
    }
    VDISK_ASSIGN_OR_RETURN(report.stats, copy(*stream, *sink, po, options.on_progress, stop));
    report.source_size = report.stats.virtual_bytes;
    // A stream may learn its format at its end (a fixed VHD's footer).
    report.source_format = std::string(stream->format());
    if (gpt_sink) report_gpt(gpt_sink->analysis(), options, report.gpt);
  }
  VDISK_ASSIGN_OR_RETURN(report.output_size,
                         target_virtual_size(options.target, report.source_size));
  report.output_bytes = options.target == Target::gcp  // compressed: ask the file
                            ? out_bytes->position()
                            : output_bytes(options.target, report.output_size);
  VDISK_RETURN_IF_ERROR(fill_checksums(report.output_size));
  note_padding(options, report.source_size, report.output_size);
  return report;
}

}  // namespace vdisk
