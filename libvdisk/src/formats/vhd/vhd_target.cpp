// The "vhd" and "azure" output targets: a fixed VHD, the disk at file offset = disk offset and a
// 512-byte footer. Azure's size rule is vhd::azure_rule() (vhd.h); its GPT is moved to the padded
// end.
#include "contract/target_driver.h"
#include "base/ids.h"
#include "formats/vhd/vhd.h"
#include "formats/vhd/vhd_footer.h"

namespace vdisk::detail {
namespace {

std::uint32_t vhd_timestamp(const TargetOptions& o) {
  const std::int64_t t = unix_time_or_now(o.timestamp_unix) - vhd::kVhdEpochUnix;
  return t < 0 ? 0u : static_cast<std::uint32_t>(std::min<std::int64_t>(t, 0xFFFFFFFF));
}

Result<std::unique_ptr<BlockSink>> create_fixed(std::unique_ptr<ByteSink> out,
                                                const TargetRequest& r, vhd::SizeRule rule) {
  vhd::FixedSinkOptions o;
  o.rule = rule;
  o.timestamp = vhd_timestamp(*r.options);
  o.unique_id = unique_id_or_random(r.options->unique_id);
  return vhd::make_fixed_sink(std::move(out), o);
}

Result<std::uint64_t> vhd_size(std::uint64_t s) { return vhd::fixed_size(vhd::plain_rule(), s); }
Result<std::uint64_t> azure_size(std::uint64_t s) { return vhd::fixed_size(vhd::azure_rule(), s); }
Result<std::unique_ptr<BlockSink>> create_vhd(std::unique_ptr<ByteSink> out,
                                              const TargetRequest& r) {
  return create_fixed(std::move(out), r, vhd::plain_rule());
}
Result<std::unique_ptr<BlockSink>> create_azure(std::unique_ptr<ByteSink> out,
                                                const TargetRequest& r) {
  return create_fixed(std::move(out), r, vhd::azure_rule());
}

Result<OutputSize> measure_fixed(const BlockSource& disk, const TargetOptions&, std::uint64_t) {
  const std::uint64_t bytes = disk.size() + vhd::kFooterSize;
  return OutputSize{true, bytes, bytes};
}

}  // namespace

const TargetDriver& vhd_target() {
  static const TargetDriver d{
      .name = "vhd",
      .summary = "fixed VHD, the size rounded up to a whole sector",
      .check = "",
      .virtual_size = vhd_size,
      .relocates_gpt = false,
      .needs_size = false,
      .reads_map = false,
      .name_suffix = "",
      .disk_trailer_bytes = vhd::kFooterSize,
      .create = create_vhd,
      .measure = measure_fixed,
  };
  return d;
}

const TargetDriver& azure_target() {
  static const TargetDriver d{
      .name = "azure",
      .summary = "fixed VHD for Azure: a whole MiB, >= 20 MiB, <= 32 TiB, GPT moved to the end",
      .check = "azure",
      .virtual_size = azure_size,
      .relocates_gpt = true,
      .needs_size = false,
      .boots = true,
      .machine = "azure",
      .reads_map = false,
      .name_suffix = "",
      .disk_trailer_bytes = vhd::kFooterSize,
      .create = create_azure,
      .measure = measure_fixed,
  };
  return d;
}

}  // namespace vdisk::detail
