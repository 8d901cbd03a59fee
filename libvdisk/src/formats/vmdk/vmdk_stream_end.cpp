// End-of-stream checks for VMware-layout streamOptimized VMDKs read from a stream; see
// vmdk_stream_end.h.
#include "formats/vmdk/vmdk_stream_end.h"

#include <algorithm>
#include <array>
#include <random>

#include <fmt/format.h>

#include "base/checked.h"
#include "base/endian.h"

namespace vdisk::vmdk {
namespace {

// An order-independent digest of a set of grain-table entries (index in the table, sector of
// the grain's marker): what a grain table lists, or what the grains that arrived for it say it
// should list. Two 64-bit sums of keyed mixes: equal sets give equal digests; different sets
// collide with probability ~2^-128, and the key is drawn per process, so an image cannot be
// made to collide on purpose. It stands in for keeping every grain's marker sector until the
// grain directory arrives at the very end (4 bytes a grain, 128 MiB for a full 2 TiB disk).
std::uint64_t mix64(std::uint64_t x) {  // splitmix64's finalizer
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}
const std::array<std::uint64_t, 2>& digest_keys() {
  static const std::array<std::uint64_t, 2> keys = [] {
    std::random_device rd;
    return std::array<std::uint64_t, 2>{(std::uint64_t{rd()} << 32) | rd(),
                                        (std::uint64_t{rd()} << 32) | rd()};
  }();
  return keys;
}
void add_entry(StreamEndCheck::Digest& d, std::uint64_t index, std::uint64_t sector) {
  const std::uint64_t x = (index << 32) ^ sector;  // index < 4096, sector < 2^32 (a GTE)
  d.a += mix64(x ^ digest_keys()[0]);
  d.b += mix64(x + digest_keys()[1]);
  ++d.count;
}

}  // namespace

StreamEndCheck::StreamEndCheck(const SparseHeader& header, std::string name)
    : h_(header), name_(std::move(name)) {}

void StreamEndCheck::grain(std::uint64_t g, std::uint64_t marker_at) {
  add_entry(received_[g / h_.num_gtes_per_gt], g % h_.num_gtes_per_gt, marker_at / kSector);
}

void StreamEndCheck::table(std::uint64_t sector, std::span<const std::byte> entries) {
  Digest d;
  for (std::uint64_t i = 0; i < h_.num_gtes_per_gt; ++i) {
    const std::uint32_t e = detail::load_le32(entries.subspan(i * 4));
    if (e != 0 && !(e == 1 && h_.zeroed_grains())) add_entry(d, i, e);
  }
  tables_.push_back({sector, d});
}

void StreamEndCheck::directory(std::uint64_t sector, std::span<const std::byte> entries) {
  gd_.resize(entries.size() / 4);
  for (std::size_t i = 0; i < gd_.size(); ++i) gd_[i] = detail::load_le32(entries.subspan(i * 4));
  gd_sector_ = sector;
}

void StreamEndCheck::footer(const SparseHeader& f, std::uint64_t marker_at, std::uint64_t end) {
  footer_ = f;
  footer_at_ = marker_at;
  footer_end_ = end;
}

Status StreamEndCheck::at_eos(const Marker& eos, std::uint64_t at) const {
  const std::uint64_t end = at + kSector;  // the stream's length if it ends here
  if (eos.value != 0)
    return corrupt_at("vmdk", "end-of-stream marker", at,
                      fmt::format("expected value 0, size 0, type 0, found {}, 0, 0", eos.value));
  if (!footer_ || footer_end_ != at)
    return corrupt_at("vmdk", "footer marker", at >= 2 * kSector ? at - 2 * kSector : 0,
                      footer_ ? fmt::format("expected a footer marker and footer right before the "
                                            "end-of-stream marker, found them at offset {}",
                                            footer_at_)
                              : std::string("expected a footer marker and footer right before the "
                                            "end-of-stream marker, found none in the stream"));
  const SparseHeader& f = *footer_;
  const std::uint64_t entries = h_.gd_entries();
  const auto gd_at = detail::checked_mul(f.gd_offset, kSector);
  if (!gd_at || !detail::range_inside(*gd_at, entries * 4, end))
    return corrupt_at("vmdk", "grain directory", gd_at.value_or(0),
                      fmt::format("{} entries at sector {} lie past the end of {} ({} bytes)",
                                  entries, f.gd_offset, name_, end));
  if (!gd_sector_ || *gd_sector_ != f.gd_offset)
    return corrupt_at("vmdk", "footer", footer_end_ - kSector,
                      fmt::format("gdOffset expected {}, found {}",
                                  gd_sector_ ? fmt::format("sector {} (the grain directory "
                                                           "after the GD marker)",
                                                           *gd_sector_)
                                             : std::string("the sector after a GD marker "
                                                           "(the stream has none)"),
                                  f.gd_offset));
  const std::uint64_t gt_bytes = std::uint64_t{h_.num_gtes_per_gt} * 4;
  for (std::size_t t = 0; t < gd_.size(); ++t) {
    const std::uint64_t gde = gd_[t];
    if (gde == 0) continue;
    if (!detail::range_inside(gde * kSector, gt_bytes, end))
      return corrupt_at("vmdk", "grain directory entry", gde * kSector,
                        fmt::format("grain table {} ({} bytes) lies past the end of {} ({} bytes)",
                                    t, gt_bytes, name_, end));
    auto it =
        std::lower_bound(tables_.begin(), tables_.end(), gde,
                         [](const auto& p, std::uint64_t sector) { return p.first < sector; });
    if (it == tables_.end() || it->first != gde)
      return corrupt_at("vmdk", "grain directory entry", *gd_at + t * 4,
                        fmt::format("grain table {} expected at a sector after a GT marker, "
                                    "found sector {}",
                                    t, gde));
  }
  // The file reader reads grains through the tables: they must list exactly the grains the
  // stream holds, each at its marker's sector (else the file would read other bytes, or
  // refuse a grain table entry whose marker holds another LBA).
  for (std::size_t t = 0; t < gd_.size(); ++t) {
    Digest listed;
    if (gd_[t] != 0)
      listed =
          std::lower_bound(tables_.begin(), tables_.end(), std::uint64_t{gd_[t]},
                           [](const auto& p, std::uint64_t sector) { return p.first < sector; })
              ->second;
    const auto got = received_.find(t);
    const Digest arrived = got == received_.end() ? Digest{} : got->second;
    if (listed != arrived)
      return corrupt_at(
          "vmdk", "grain table", std::uint64_t{gd_[t]} * kSector,
          fmt::format("grain table {} expected to list the {} grains the stream holds for it at "
                      "their markers' sectors, found {} entries that differ",
                      t, arrived.count, listed.count));
  }
  return {};
}

}  // namespace vdisk::vmdk
