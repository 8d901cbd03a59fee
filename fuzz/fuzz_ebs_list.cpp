// Fuzz target: the EBS direct API's block lists (remote/ebs/ebs_lists.h) and EC2's
// DescribeSnapshots reply (remote/ebs/ebs_client.h), as the EBS source and the incremental
// snapshot parse them. Input: a selector byte, then the reply. 0: ListSnapshotBlocks
// (parse_block_list, at most 64 blocks a page); 1: ListChangedBlocks (parse_changed_blocks);
// 2: DescribeSnapshots of "snap-0a" (parse_describe_snapshots). Invariants on success: the
// block size is a power of two from 512 B to 1 MiB, the volume 1..65536 GiB, the indexes
// strictly ascending and inside the volume, no more blocks than asked for, every token
// 1..1024 bytes (a changed block has at least one); tags within EC2's bounds.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "remote/ebs/ebs_client.h"
#include "remote/ebs/ebs_lists.h"

namespace {

constexpr std::size_t kPage = 64;

void check_sizes(std::uint64_t bs, std::uint64_t gib) {
  if (bs < 512 || bs > (1u << 20) || (bs & (bs - 1)) || gib < 1 || gib > 65536) __builtin_trap();
}

void check_index(std::uint64_t index, std::uint64_t blocks, std::optional<std::uint64_t>& prev) {
  if (index >= blocks || (prev && index <= *prev)) __builtin_trap();
  prev = index;
}

void check_token(const std::string& t, bool may_be_empty) {
  if (t.size() > 1024 || (!may_be_empty && t.empty())) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::uint8_t selector = data[0] % 3;
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  using namespace vdisk::aws;
  if (selector == 0) {
    auto list = parse_block_list(text, kPage);
    if (!list.ok()) return 0;
    check_sizes(list->block_bytes, list->volume_gib);
    if (list->blocks.size() > kPage) __builtin_trap();
    const std::uint64_t blocks = (list->volume_gib << 30) / list->block_bytes;
    std::optional<std::uint64_t> prev;
    for (const ListedBlock& b : list->blocks) {
      check_index(b.index, blocks, prev);
      check_token(b.token, false);
    }
    check_token(list->next_token, true);
  } else if (selector == 1) {
    auto list = parse_changed_blocks(text, kPage);
    if (!list.ok()) return 0;
    check_sizes(list->block_bytes, list->volume_gib);
    if (list->blocks.size() > kPage) __builtin_trap();
    const std::uint64_t blocks = (list->volume_gib << 30) / list->block_bytes;
    std::optional<std::uint64_t> prev;
    for (const ChangedBlock& b : list->blocks) {
      check_index(b.index, blocks, prev);
      check_token(b.first_token, true);
      check_token(b.second_token, true);
      if (b.first_token.empty() && b.second_token.empty()) __builtin_trap();
    }
    check_token(list->next_token, true);
  } else {
    auto facts = parse_describe_snapshots(text, "snap-0a");
    if (!facts.ok()) return 0;
    if (facts->state.empty() || facts->state.size() > 32 || facts->tags.size() > 50)
      __builtin_trap();
    for (const auto& [k, v] : facts->tags)
      if (k.size() > 128 || v.size() > 256) __builtin_trap();
  }
  return 0;
}
