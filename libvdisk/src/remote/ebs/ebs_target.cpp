// The "aws-snapshot" target: the disk's bytes, as raw writes them, into an EBS snapshot
// (ebs_snapshot() in cloud.h is the only output it takes). Its one option, omit-zero-blocks, is
// acted on by that output (RemoteOutput::configure()).
#include "contract/target_driver.h"
#include "formats/raw/raw.h"

namespace vdisk::detail {
namespace {

// The target's own options (TargetOptions::settings; vdconvert --KEY or -o KEY=VALUE).
constexpr OptionSpec kOptions[] = {
    {"omit-zero-blocks", OptionKind::flag, "",
     "put only blocks holding data: an encrypted volume made from the snapshot reads the others "
     "as random data (refused when the snapshot is encrypted)"},
};

Result<std::uint64_t> snapshot_size(std::uint64_t source_size) { return source_size; }

Result<std::unique_ptr<BlockSink>> create_snapshot(std::unique_ptr<ByteSink> out,
                                                   const TargetRequest&) {
  return raw::make_sink(std::move(out));
}

Result<OutputSize> measure_snapshot(const BlockSource& disk, const TargetOptions&, std::uint64_t) {
  return OutputSize{true, disk.size(), disk.size()};
}

}  // namespace

const TargetDriver& aws_snapshot_target() {
  static const TargetDriver d{
      .name = "aws-snapshot",
      .summary = "an EBS snapshot through the EBS direct APIs, every block (DST ebs:)",
      .check = "",
      .virtual_size = snapshot_size,
      .relocates_gpt = false,
      .needs_size = true,
      .boots = true,
      .boot_cloud = "aws",
      .reads_map = false,
      .name_suffix = "",
      .disk_trailer_bytes = 0,
      .destination = "ebs-snapshot",
      .options = kOptions,
      .check_options = nullptr,
      .create = create_snapshot,
      .measure = measure_snapshot,
  };
  return d;
}

}  // namespace vdisk::detail
