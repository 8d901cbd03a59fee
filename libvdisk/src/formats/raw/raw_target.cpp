// The "raw" output target: the disk's bytes as they are, holes for zero runs where the output is
// a regular file.
#include "contract/target_driver.h"
#include "formats/raw/raw.h"

namespace vdisk::detail {
namespace {

Result<std::uint64_t> raw_size(std::uint64_t source_size) { return source_size; }

Result<std::unique_ptr<BlockSink>> create_raw(std::unique_ptr<ByteSink> out, const TargetRequest&) {
  return raw::make_sink(std::move(out));
}

Result<OutputSize> measure_raw(const BlockSource& disk, const TargetOptions&, std::uint64_t) {
  return OutputSize{true, disk.size(), disk.size()};
}

}  // namespace

const TargetDriver& raw_target() {
  static const TargetDriver d{
      .name = "raw",
      .summary = "the disk's bytes; holes for zeros where the output is a file",
      .check = "",
      .virtual_size = raw_size,
      .relocates_gpt = false,
      .needs_size = false,
      .reads_map = false,
      .name_suffix = "",
      .disk_trailer_bytes = 0,
      .create = create_raw,
      .measure = measure_raw,
  };
  return d;
}

}  // namespace vdisk::detail
