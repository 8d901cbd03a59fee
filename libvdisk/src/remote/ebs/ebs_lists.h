// The EBS direct API's block lists (docs/cloud.md, "Reading EBS snapshots"): the replies of
// ListSnapshotBlocks and ListChangedBlocks, parsed as the hostile input they are.
//
// Guarantees (corrupt, naming the call and what is wrong, otherwise):
// - The reply is one JSON object (strings with escapes, numbers, nesting at most 16 deep; members
//   not named here are skipped) with BlockSize a power of two from 512 B to 1 MiB (AWS says
//   524288, moto 512) and VolumeSize 1..65536 GiB, each stated once.
// - Blocks come out as the reply lists them, which must be in strictly ascending BlockIndex (AWS
//   documents that order; a repeated index is refused), every index an integer inside the
//   volume (VolumeSize GiB / BlockSize), at most `max_blocks` of them (the maxResults asked).
// - Tokens: BlockToken (ListSnapshotBlocks) is present; ListChangedBlocks gives a
//   FirstBlockToken, a SecondBlockToken or both (null is absent), never neither. Every token and
//   NextToken is 1..1024 characters; a NextToken of null or "" means the last page.
#ifndef VDISK_REMOTE_EBS_EBS_LISTS_H_
#define VDISK_REMOTE_EBS_EBS_LISTS_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "vdisk/status.h"

namespace vdisk::aws {

// The largest page asked for (maxResults; AWS's maximum).
inline constexpr std::size_t kMaxListResults = 10000;

// One page of ListSnapshotBlocks: the blocks the snapshot holds, in index order.
struct ListedBlock {
  std::uint64_t index = 0;
  std::string token;  // GetSnapshotBlock's blockToken
};
struct BlockList {
  std::vector<ListedBlock> blocks;
  std::string next_token;  // empty: the last page
  std::uint64_t block_bytes = 0;
  std::uint64_t volume_gib = 0;
};
Result<BlockList> parse_block_list(std::string_view json, std::size_t max_blocks = kMaxListResults);

// One page of ListChangedBlocks (first snapshot = the earlier one).
struct ChangedBlock {
  std::uint64_t index = 0;
  std::string first_token;   // empty: the first snapshot does not hold the block
  std::string second_token;  // empty: the second does not (it reads as zeros there)
};
struct ChangedList {
  std::vector<ChangedBlock> blocks;
  std::string next_token;
  std::uint64_t block_bytes = 0;
  std::uint64_t volume_gib = 0;
};
Result<ChangedList> parse_changed_blocks(std::string_view json,
                                         std::size_t max_blocks = kMaxListResults);

}  // namespace vdisk::aws

#endif  // VDISK_REMOTE_EBS_EBS_LISTS_H_
