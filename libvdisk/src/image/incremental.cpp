// See incremental.h.
#include "image/incremental.h"

#include <fmt/format.h>

#include <algorithm>

namespace vdisk::detail {
namespace {

constexpr std::uint64_t kMiB = 1u << 20;

// Adds [start, end) to the sorted, disjoint `out`, merging what overlaps or touches it.
void add_range(std::vector<Extent>& out, std::uint64_t start, std::uint64_t end) {
  if (start >= end) return;
  out.push_back(Extent{start, end - start, ExtentKind::data});
  std::sort(out.begin(), out.end(),
            [](const Extent& a, const Extent& b) { return a.offset < b.offset; });
  std::vector<Extent> merged;
  for (const Extent& e : out) {
    if (!merged.empty() && e.offset <= merged.back().end()) {
      const std::uint64_t new_end = std::max(merged.back().end(), e.end());
      merged.back().length = new_end - merged.back().offset;
    } else {
      merged.push_back(Extent{e.offset, e.length, ExtentKind::data});
    }
  }
  out = std::move(merged);
}

class ChangedOnly final : public BlockSource {
 public:
  ChangedOnly(std::unique_ptr<BlockSource> disk, std::vector<Extent> ranges)
      : owned_(std::move(disk)), disk_(*owned_), ranges_(std::move(ranges)) {}

  std::uint64_t size() const override { return disk_.size(); }
  Status read(std::uint64_t offset, std::span<std::byte> dst) const override {
    return disk_.read(offset, dst);
  }
  std::string_view format() const override { return disk_.format(); }
  void describe(Properties& out) const override { disk_.describe(out); }

  Status map(std::uint64_t offset, std::uint64_t length, std::vector<Extent>& out) const override {
    const std::uint64_t end = offset + length;
    std::uint64_t at = offset;
    auto it = std::upper_bound(ranges_.begin(), ranges_.end(), offset,
                               [](std::uint64_t v, const Extent& e) { return v < e.end(); });
    std::vector<Extent> inner;
    for (; it != ranges_.end() && it->offset < end; ++it) {
      const std::uint64_t from = std::max(at, it->offset);
      const std::uint64_t to = std::min(end, it->end());
      if (from > at) append_extent(out, Extent{at, from - at, ExtentKind::unallocated});
      inner.clear();
      VDISK_RETURN_IF_ERROR(disk_.map(from, to - from, inner));
      for (const Extent& e : inner) append_extent(out, e);
      at = to;
    }
    if (at < end) append_extent(out, Extent{at, end - at, ExtentKind::unallocated});
    return {};
  }

 private:
  std::unique_ptr<BlockSource> owned_;
  const BlockSource& disk_;
  std::vector<Extent> ranges_;
};

}  // namespace

Status check_incremental(const TargetInfo& target, bool remote_destination,
                         std::string_view display) {
  if (!remote_destination)
    return invalid_argument(fmt::format(
        "{}: an incremental source (since an earlier snapshot) holds only the changes; its "
        "destination must be the cloud object that holds that earlier snapshot (an Azure page "
        "blob with update, an EBS snapshot with a parent)",
        display));
  const bool in_place = target.remote_only || target.layout == OutputLayout::disk ||
                        target.layout == OutputLayout::fixed_vhd;
  if (!in_place)
    return invalid_argument(fmt::format(
        "{}: --to {} encodes the disk ({}); an incremental move writes the disk's bytes in "
        "place (--to raw, vhd, azure or aws-snapshot)",
        display, target.name, output_layout_name(target.layout)));
  return {};
}

ChangeSet output_changes(const ChangeSet& source, std::uint64_t source_size,
                         std::uint64_t output_size, const GptReport& gpt) {
  ChangeSet out;
  out.base = source.base;
  out.identity = source.identity;
  out.disk_bytes = output_size;
  for (const Extent& e : source.ranges) {
    const std::uint64_t end = std::min(e.end(), source_size);
    if (e.offset >= end) continue;
    if (!out.ranges.empty() && e.offset <= out.ranges.back().end()) {
      // Sorted already (ChangeSet's contract): touching ranges merge.
      out.ranges.back().length = std::max(out.ranges.back().end(), end) - out.ranges.back().offset;
    } else {
      out.ranges.push_back(Extent{e.offset, end - e.offset, ExtentKind::data});
    }
  }
  // What padding rewrites whatever changed: the primary GPT header (it names the backup), the
  // old backup's place and everything after the source's end.
  if (output_size != source_size || gpt.action == GptReport::Action::relocated) {
    add_range(out.ranges, 0, std::min(kMiB, output_size));
    add_range(out.ranges, source_size > kMiB ? source_size - kMiB : 0, output_size);
  }
  return out;
}

std::unique_ptr<BlockSource> changed_only(std::unique_ptr<BlockSource> disk,
                                          const ChangeSet& changes) {
  return std::make_unique<ChangedOnly>(std::move(disk), changes.ranges);
}

std::uint64_t changed_bytes(const ChangeSet& changes) {
  std::uint64_t n = 0;
  for (const Extent& e : changes.ranges) n += e.length;
  return n;
}

}  // namespace vdisk::detail
