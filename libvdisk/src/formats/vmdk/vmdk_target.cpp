// The "vmdk" output target: a streamOptimized VMDK (default; AWS VM Import, ESXi/ovftool,
// VirtualBox; streams to a pipe) or a monolithicSparse one (VMware Workstation), written by
// vmdk_writer.h.
#include <fmt/format.h>

#include "contract/target_driver.h"
#include "base/checked.h"
#include "base/ids.h"
#include "formats/vmdk/vmdk_writer.h"

namespace vdisk::detail {
namespace {

constexpr std::string_view kSubformats[] = {"streamOptimized", "monolithicSparse"};
constexpr std::string_view kAdapterTypes[] = {"ide", "buslogic", "lsilogic", "legacyESX"};

// The vmdk target's own options (TargetOptions::settings; vdconvert --KEY or -o KEY=VALUE).
constexpr OptionSpec kOptions[] = {
    {"level",
     OptionKind::number,
     "N",
     "compression level 0..9 (0 stored, 9 smallest; streamOptimized only)",
     "6",
     {},
     0,
     9},
    {"subformat", OptionKind::choice, "NAME",
     "streamOptimized (AWS, ESXi/ovftool; streams) or monolithicSparse (Workstation)",
     "streamOptimized", kSubformats},
    {"adapter", OptionKind::choice, "TYPE", "ddb.adapterType", "lsilogic", kAdapterTypes},
    {"hw-version", OptionKind::number, "N", "ddb.virtualHWVersion", "14", {}, 4, 21},
    {"uuid", OptionKind::flag, "",
     "also write ddb.uuid and ddb.longContentID (VMware and VirtualBox identify disks by them; "
     "MVMC refuses them)"},
};

Status check_vmdk_options(const OptionValues& values) {
  if (values.given("level") && values.given("subformat") == "monolithicSparse")
    return invalid_argument(
        "vmdk: level applies to a compressed VMDK (streamOptimized), not to monolithicSparse");
  return {};
}

Result<vmdk::WriterOptions> writer_options(const TargetOptions& o) {
  const OptionValues& v = o.settings;
  vmdk::WriterOptions w;
  VDISK_ASSIGN_OR_RETURN(const std::string subformat, option_text(kOptions, v, "subformat"));
  VDISK_ASSIGN_OR_RETURN(w.subformat, vmdk::parse_subformat(subformat));
  VDISK_ASSIGN_OR_RETURN(const std::int64_t level, option_number(kOptions, v, "level"));
  VDISK_ASSIGN_OR_RETURN(const std::int64_t hw, option_number(kOptions, v, "hw-version"));
  w.level = static_cast<int>(level);
  w.hw_version = static_cast<int>(hw);
  VDISK_ASSIGN_OR_RETURN(w.adapter, option_text(kOptions, v, "adapter"));
  VDISK_ASSIGN_OR_RETURN(w.identity_keys, option_flag(kOptions, v, "uuid"));
  w.threads = o.compress_threads;
  w.file_name = o.file_name.empty() ? "disk.vmdk" : o.file_name;
  w.uuid = unique_id_or_random(o.unique_id);
  return w;
}

// Whole sectors: the header counts the capacity in sectors.
Result<std::uint64_t> vmdk_size(std::uint64_t source_size) {
  auto r = round_up(std::max<std::uint64_t>(source_size, 1), 512);
  const std::uint64_t max = vmdk::max_disk_size(vmdk::Subformat::stream_optimized);
  if (!r || *r > max)
    return invalid_argument(
        fmt::format("vmdk: a virtual size of {} bytes is above the {} bytes a VMDK describes",
                    source_size, max));
  return *r;
}

Result<std::unique_ptr<BlockSink>> create_vmdk(std::unique_ptr<ByteSink> out,
                                               const TargetRequest& r) {
  VDISK_ASSIGN_OR_RETURN(auto w, writer_options(*r.options));
  return vmdk::make_writer(std::move(out), *r.disk_size, w);
}

// Grains (64 KiB) the map touches with data.
Result<std::uint64_t> data_grains(const BlockSource& disk, std::uint64_t map_window) {
  constexpr std::uint64_t kGrain = vmdk::writer::kGrainBytes;
  std::uint64_t grains = 0;
  std::uint64_t next_free = 0;  // first grain not counted yet
  VDISK_RETURN_IF_ERROR(walk_data(disk, map_window, [&](std::uint64_t off, std::uint64_t len) {
    const std::uint64_t first = std::max(off / kGrain, next_free);
    const std::uint64_t last = (off + len - 1) / kGrain;
    if (last >= first) grains += last - first + 1;
    next_free = std::max(next_free, last + 1);
  }));
  return grains;
}

Result<OutputSize> measure_vmdk(const BlockSource& disk, const TargetOptions& options,
                                std::uint64_t map_window) {
  VDISK_ASSIGN_OR_RETURN(auto w, writer_options(options));
  VDISK_ASSIGN_OR_RETURN(const std::uint64_t grains, data_grains(disk, map_window));
  VDISK_ASSIGN_OR_RETURN(auto e, vmdk::estimate_size(disk.size(), grains, w));
  const std::uint64_t stored = e.metadata_bytes + grains * vmdk::writer::kGrainBytes;
  // Grains the map calls data may still hold only zeros, which the writer leaves out: the
  // sizes are bounds, not exact.
  return OutputSize{false, std::min(stored, e.upper_bound), e.upper_bound};
}

}  // namespace

const TargetDriver& vmdk_target() {
  static const TargetDriver d{
      .name = "vmdk",
      .summary = "VMDK: streamOptimized (AWS, ESXi/ovftool; streams) or monolithicSparse",
      .check = "vmdk",
      .virtual_size = vmdk_size,
      .relocates_gpt = false,
      .needs_size = true,
      .boots = true,
      .reads_map = false,
      .name_suffix = "",
      .disk_trailer_bytes = std::nullopt,
      .options = kOptions,
      .check_options = check_vmdk_options,
      .create = create_vmdk,
      .measure = measure_vmdk,
  };
  return d;
}

}  // namespace vdisk::detail
