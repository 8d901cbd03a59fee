// The "gcp" output target: the GCP image tarball (gcp.h), disk.raw padded to a whole GiB with
// the GPT's backup moved to the new end.
#include "contract/target_driver.h"
#include "gcp/gcp.h"
#include "gcp/tar.h"
#include "util/checked.h"

namespace vdisk::detail {
namespace {

Result<std::unique_ptr<BlockSink>> create_gcp(std::unique_ptr<ByteSink> out,
                                              const TargetRequest& r) {
  if (!r.disk_size)
    return unsupported(
        "gcp: the tar header needs the disk size before the data, and a raw stream states "
        "none; convert from a file instead of stdin");
  return gcp::make_tar_sink(std::move(out), *r.disk_size, r.disk, gcp::writer_options(*r.options),
                            r.map_window_bytes);
}

// The tar bytes exactly; the .tar.gz at most that plus deflate's worst case (stored blocks and a
// sync flush per 1 MiB compression block) and the gzip header and trailer.
Result<OutputSize> measure_gcp(const BlockSource& disk, const TargetOptions& options,
                               std::uint64_t map_window) {
  const gcp::WriterOptions wo = gcp::writer_options(options);
  VDISK_ASSIGN_OR_RETURN(auto spec, gcp::plan_member(disk.size(), &disk, wo, map_window));
  VDISK_ASSIGN_OR_RETURN(auto header, gcp::encode_member_header(spec));
  std::uint64_t tar = header.size() + gcp::stored_bytes(spec);
  tar += (512 - tar % 512) % 512;
  tar += gcp::end_of_archive_bytes(tar);
  const std::uint64_t blocks = tar / kMiB + 1;
  const std::uint64_t bound =
      tar + tar / 4096 + tar / 16384 + 5 * (tar / 65535 + 1) + 16 * blocks + 64;
  return OutputSize{false, tar, bound};
}

}  // namespace

const TargetDriver& gcp_target() {
  static const TargetDriver d{
      .name = "gcp",
      .summary = "GCP image tarball: gzip'd GNU tar holding disk.raw of whole GiB",
      .check = "gcp",
      .virtual_size = gcp::disk_size,
      .relocates_gpt = true,
      .needs_size = true,
      .reads_map = true,
      .name_suffix = ".tar.gz",
      .disk_trailer_bytes = std::nullopt,
      .create = create_gcp,
      .measure = measure_gcp,
  };
  return d;
}

}  // namespace vdisk::detail
