// Incremental moves (docs/cloud.md, "Incremental moves"): a source that knows what changed since
// an earlier version (RemoteFile::changes(), an EBS snapshot read with `since`) into a
// destination that holds that earlier version and updates in place (RemoteOutput::set_source).
//
// convert() asks three things of this file:
// - whether the pair can move incrementally at all (check_incremental), before reading;
// - the output's changed ranges (output_changes): the source's, clipped to the disk, plus what
//   the target itself rewrites when it pads (the first and last MiB around a relocated GPT and
//   the padding), so what the destination holds ends equal to a full copy;
// - a view of the prepared disk that maps everything outside those ranges as unallocated
//   (changed_only), so the copy reads only the changes. The destination's sink is given the
//   whole output in order and skips what lies outside the ranges it was told.
#ifndef VDISK_IMAGE_INCREMENTAL_H_
#define VDISK_IMAGE_INCREMENTAL_H_

#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "vdisk/block.h"
#include "vdisk/extent.h"
#include "vdisk/image.h"
#include "vdisk/remote.h"
#include "vdisk/status.h"

namespace vdisk::detail {

// invalid_argument unless `target` writes the disk's bytes in place (layout disk or fixed_vhd,
// or a destination-only target) into a remote destination, naming `display`.
Status check_incremental(const TargetInfo& target, bool remote_destination,
                         std::string_view display);

// The ranges of the output disk (`output_size` bytes, the source's `source_size` padded) that
// an incremental move writes.
ChangeSet output_changes(const ChangeSet& source, std::uint64_t source_size,
                         std::uint64_t output_size, const GptReport& gpt);

// `disk` whose map is unallocated outside `changes.ranges` (reads are passed through).
std::unique_ptr<BlockSource> changed_only(std::unique_ptr<BlockSource> disk,
                                          const ChangeSet& changes);

// The bytes the ranges cover.
std::uint64_t changed_bytes(const ChangeSet& changes);

}  // namespace vdisk::detail

#endif  // VDISK_IMAGE_INCREMENTAL_H_
