// The output-target registry and the public target calls: names, size rules, sinks, measure.
#include <fmt/format.h>

#include "contract/target_driver.h"
#include "vdisk/image.h"

namespace vdisk {
namespace detail {

std::span<const TargetDriver* const> target_drivers() {
  // Help order. Adding a target: one folder's TargetDriver and one line here.
  static const TargetDriver* const kTargets[] = {&raw_target(),   &vhd_target(),
                                                 &azure_target(), &gcp_target(),
                                                 &vmdk_target(),  &aws_snapshot_target()};
  return kTargets;
}

const TargetDriver* find_target_driver(std::string_view name) {
  for (const TargetDriver* d : target_drivers())
    if (d->name == name) return d;
  return nullptr;
}

Result<const TargetDriver*> require_target_driver(std::string_view name) {
  if (const auto* d = find_target_driver(name)) return d;
  return invalid_argument(
      fmt::format("unknown output target '{}' (known: {})", name, fmt::join(target_names(), ", ")));
}

}  // namespace detail

namespace {

Status check_settings(const detail::TargetDriver& d, const OptionValues& values) {
  VDISK_RETURN_IF_ERROR(check_options(d.options, d.name, values));
  return d.check_options ? d.check_options(values) : Status();
}

// The sink for a disk of `disk_size` bytes, which must be one the target's rule gives.
Result<std::unique_ptr<BlockSink>> make_sink(const detail::TargetDriver& d,
                                             std::unique_ptr<ByteSink> out,
                                             std::optional<std::uint64_t> disk_size,
                                             const BlockSource* disk,
                                             const TargetOptions& options) {
  VDISK_RETURN_IF_ERROR(check_settings(d, options.settings));
  if (disk_size) {
    VDISK_ASSIGN_OR_RETURN(const std::uint64_t ruled, d.virtual_size(*disk_size));
    if (ruled != *disk_size)
      return invalid_argument(fmt::format(
          "{}: a disk of {} bytes is not one this target writes (its rule gives {}); prepare it "
          "first (prepare_disk / prepare_stream)",
          d.name, *disk_size, ruled));
  } else if (d.needs_size) {
    return unsupported(fmt::format(
        "{}: the output states the disk size before the data, and a raw stream states none; "
        "convert from a file instead of stdin",
        d.name));
  }
  detail::TargetRequest r;
  r.disk_size = disk_size;
  r.disk = disk;
  r.options = &options;
  return d.create(std::move(out), r);
}

}  // namespace

std::string_view output_layout_name(OutputLayout layout) {
  switch (layout) {
    case OutputLayout::disk:
      return "disk";
    case OutputLayout::fixed_vhd:
      return "fixed-vhd";
    case OutputLayout::encoded:
      return "encoded";
  }
  return "unknown";
}

Status set_target_option(std::string_view target, TargetOptions& options, std::string_view key,
                         std::string_view value) {
  VDISK_ASSIGN_OR_RETURN(const auto* d, detail::require_target_driver(target));
  return set_option(d->options, d->name, options.settings, key, value);
}

Status check_target_options(std::string_view target, const TargetOptions& options) {
  VDISK_ASSIGN_OR_RETURN(const auto* d, detail::require_target_driver(target));
  return check_settings(*d, options.settings);
}

std::vector<std::string_view> target_names() {
  std::vector<std::string_view> out;
  for (const auto* d : detail::target_drivers()) out.push_back(d->name);
  return out;
}

Result<TargetInfo> target_info(std::string_view name) {
  VDISK_ASSIGN_OR_RETURN(const auto* d, detail::require_target_driver(name));
  TargetInfo t;
  t.name = std::string(d->name);
  t.summary = std::string(d->summary);
  t.check = std::string(d->check);
  t.needs_size = d->needs_size;
  t.name_suffix = std::string(d->name_suffix);
  t.remote_only = !d->destination.empty();
  t.destination = std::string(d->destination);
  t.relocates_gpt = d->relocates_gpt;
  t.reads_map = d->reads_map;
  t.boots = d->boots;
  t.machine = std::string(d->machine);
  // The layout follows from what the output holds besides the disk (disk_trailer_bytes).
  if (!d->disk_trailer_bytes)
    t.layout = OutputLayout::encoded;
  else
    t.layout = *d->disk_trailer_bytes == 0 ? OutputLayout::disk : OutputLayout::fixed_vhd;
  t.options = d->options;
  return t;
}

Result<std::uint64_t> target_virtual_size(std::string_view target, std::uint64_t source_size) {
  VDISK_ASSIGN_OR_RETURN(const auto* d, detail::require_target_driver(target));
  return d->virtual_size(source_size);
}

Result<std::unique_ptr<BlockSink>> create_target(std::string_view target,
                                                 std::unique_ptr<ByteSink> out,
                                                 const BlockSource& disk,
                                                 const TargetOptions& options) {
  VDISK_ASSIGN_OR_RETURN(const auto* d, detail::require_target_driver(target));
  return make_sink(*d, std::move(out), disk.size(), d->reads_map ? &disk : nullptr, options);
}

Result<std::unique_ptr<BlockSink>> create_target(std::string_view target,
                                                 std::unique_ptr<ByteSink> out,
                                                 std::optional<std::uint64_t> disk_size,
                                                 const TargetOptions& options) {
  VDISK_ASSIGN_OR_RETURN(const auto* d, detail::require_target_driver(target));
  return make_sink(*d, std::move(out), disk_size, nullptr, options);
}

Result<Measurement> measure(std::string_view target, const BlockSource& source,
                            const TargetOptions& options, const PipelineOptions& pipeline) {
  VDISK_ASSIGN_OR_RETURN(const auto* d, detail::require_target_driver(target));
  VDISK_RETURN_IF_ERROR(check_settings(*d, options.settings));
  TargetOptions o = options;
  o.keep_gpt = true;  // sizes do not depend on the table; nothing is read
  o.detect_zeroes = false;
  VDISK_ASSIGN_OR_RETURN(auto prepared, prepare_disk(target, source, o, pipeline));
  Measurement m;
  m.target = std::string(d->name);
  m.source_format = std::string(source.format());
  m.virtual_size = source.size();
  m.target_size = prepared.disk->size();
  VDISK_ASSIGN_OR_RETURN(m.allocated_bytes,
                         detail::mapped_data_bytes(source, pipeline.map_window_bytes));
  VDISK_ASSIGN_OR_RETURN(m.output, d->measure(*prepared.disk, o, pipeline.map_window_bytes));
  return m;
}

Properties Measurement::to_properties() const {
  Properties p;
  p.add("target", target);
  p.add("source_format", source_format);
  p.add("virtual_size", virtual_size);
  p.add("target_size", target_size);
  p.add("allocated_bytes", allocated_bytes);
  Properties& o = p.add_object("output");
  o.add("exact", output.exact);
  o.add("bytes", output.bytes);
  o.add("upper_bound", output.upper_bound);
  return p;
}

}  // namespace vdisk
