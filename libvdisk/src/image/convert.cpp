// convert(): open, size-check, create the output, run the pipeline, commit.
#include <fmt/format.h>

#include "gcp/gcp.h"
#include "image/driver.h"
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

}  // namespace

Result<ConvertReport> convert(ImageInput in, ImageOutput out, const ConvertOptions& options,
                              std::stop_token stop) {
  if (!in.stream && !out.sink && same_file(in.path, out.path))
    return invalid_argument(
        fmt::format("{}: output is the input file; refusing to write over it", out.path.string()));

  // Open the input first: a bad input must not create (or even check for) an output.
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

  std::unique_ptr<ByteSink> bytes = std::move(out.sink);
  if (!bytes) {
    FileSinkOptions fo;
    fo.overwrite = options.overwrite;
    fo.sync = options.sync;
    VDISK_ASSIGN_OR_RETURN(bytes, create_file_sink(out.path, fo));
  }
  if (source && options.target == Target::gcp) {
    // A sparse tar member needs the whole map before its first byte: gcp walks it first.
    VDISK_ASSIGN_OR_RETURN(auto w, gcp::write_targz(*source, std::move(bytes),
                                                    gcp::writer_options(options.output),
                                                    options.pipeline, options.on_progress, stop));
    report.stats = w.stats;
    report.source_size = *size;
    report.output_size = w.disk_size;
    report.output_bytes = w.output_bytes;
    note_padding(options, report.source_size, report.output_size);
    return report;
  }
  const ByteSink* out_bytes = bytes.get();
  VDISK_ASSIGN_OR_RETURN(auto sink,
                         create_target(options.target, std::move(bytes), size, options.output));
  PipelineOptions po = options.pipeline;
  po.finish_sink = true;
  if (source) {
    VDISK_ASSIGN_OR_RETURN(report.stats, copy(*source, *sink, po, options.on_progress, stop));
  } else {
    VDISK_ASSIGN_OR_RETURN(report.stats, copy(*stream, *sink, po, options.on_progress, stop));
  }
  report.source_size = report.stats.virtual_bytes;
  VDISK_ASSIGN_OR_RETURN(report.output_size,
                         target_virtual_size(options.target, report.source_size));
  report.output_bytes = options.target == Target::gcp  // compressed: ask the file
                            ? out_bytes->position()
                            : output_bytes(options.target, report.output_size);
  note_padding(options, report.source_size, report.output_size);
  return report;
}

}  // namespace vdisk
