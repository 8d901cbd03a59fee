// VMDK check of the ESXi extent kinds (see vmdk_check.h): COWD (VMFSSPARSE redo logs, walked
// with the hosted-sparse table walker over an equivalent header) and SESPARSE (typed u64 grain
// table entries, clusters in a grains area). Layouts: VMware technote, "ESX
// Server Sparse Extents" (COWD); qemu block/vmdk.c (SESparse); docs/vmdk.md §1.
#include <algorithm>
#include <array>

#include <fmt/format.h>

#include "base/checked.h"
#include "base/endian.h"
#include "formats/vmdk/doctor/vmdk_check_impl.h"
#include "formats/vmdk/vmdk_extent.h"

namespace vdisk::vmdk::check {
namespace {

constexpr std::uint64_t kSeGtes = 4096;              // entries per SESparse grain table
constexpr std::uint64_t kSeGtSectors = 64;           // sectors per SESparse grain table
constexpr std::uint64_t kSeGrainSectors = 8;         // sectors per SESparse grain
constexpr std::uint64_t kSeGdeTable = 0x1ull << 60;  // GD entry type "grain table allocated"

std::uint64_t u64_at(std::span<const std::byte> b, std::size_t index) {
  return detail::load_le64(b.subspan(index * 8));
}

}  // namespace

void Checker::check_cowd(const RandomAccessFile& f, const std::string& name,
                         std::optional<std::uint64_t> size) {
  ++extents_;
  const std::uint64_t fsize = f.size();
  std::array<std::byte, kCowdHeaderSize> raw{};
  if (fsize < kCowdHeaderSize || !f.read_at(0, raw).ok()) {
    problem(kHeader, fmt::format("{}: shorter than a COWD header ({} bytes, expected {})", name,
                                 fsize, kCowdHeaderSize));
    return;
  }
  auto decoded = decode_cowd_header(raw);
  if (!decoded.ok()) {
    problem(kHeader, fmt::format("{}: {}", name, decoded.status().message()));
    return;
  }
  const CowdHeader& c = *decoded;
  const std::uint64_t capacity = std::uint64_t{c.capacity} * kSector;
  if (size && *size > capacity)
    problem(kExtents, fmt::format("{}: descriptor says {} bytes, the COWD capacity is {} bytes",
                                  name, *size, capacity));
  std::vector<Region> regions;
  regions.push_back({0, kCowdHeaderSize / kSector, 0, kHeaderRegion});
  // The reader uses the entries the capacity needs; gdEntries may be larger (checked >= needed).
  auto gd = load_dir(f, c.gd_offset, c.needed_gd_entries(), name, kGdRegion, regions);
  if (!gd) return;
  SparseHeader h;  // the equivalent hosted-sparse geometry: no flags, GTE 1 is a real sector
  h.version = 1;
  h.capacity = c.capacity;
  h.grain_size = c.grain_size;
  h.num_gtes_per_gt = kCowdGtes;
  h.gd_offset = c.gd_offset;
  walk_tables(f, h, *gd, name, regions);
  // freeSector is where the next grain table or grain goes: everything in use must end before it,
  // or the next write overwrites it.
  if (c.free_sector != 0) {
    const Region* last = nullptr;
    for (const Region& r : regions)
      if (!last || r.end > last->end) last = &r;
    if (last && last->end > c.free_sector)
      problem(kHeader, fmt::format("{}: freeSector is {} but {} ends at sector {}; the next "
                                   "allocation would overwrite it",
                                   name, c.free_sector, region_name(*last), last->end));
  }
  find_overlaps(regions, name);
}

void Checker::check_sesparse(const RandomAccessFile& f, const std::string& name,
                             std::optional<std::uint64_t> size) {
  ++extents_;
  const std::uint64_t fsize = f.size();
  const std::uint64_t fsectors = detail::div_ceil(fsize, kSector);
  std::array<std::byte, kHeaderSize> raw{};
  if (fsize < kHeaderSize || !f.read_at(0, raw).ok()) {
    problem(kHeader, fmt::format("{}: shorter than a SESparse header ({} bytes)", name, fsize));
    return;
  }
  auto decoded = decode_sesparse_header(raw);
  if (!decoded.ok()) {
    problem(kHeader, fmt::format("{}: {}", name, decoded.status().message()));
    return;
  }
  const SeSparseHeader& h = *decoded;
  if (size && *size > h.capacity * kSector)
    problem(kExtents, fmt::format("{}: descriptor says {} bytes, the SESparse capacity is {} bytes",
                                  name, *size, h.capacity * kSector));
  // The header's areas (offset, size in sectors): none may overlap another or the header.
  struct Area {
    std::string_view what;
    std::uint64_t offset, size;
  };
  const std::array<Area, 6> areas{{
      {"volatile header", u64_at(raw, 10), u64_at(raw, 11)},
      {"journal header", u64_at(raw, 12), u64_at(raw, 13)},
      {"journal", u64_at(raw, 14), u64_at(raw, 15)},
      {"grain directory", h.grain_dir_offset, h.grain_dir_size},
      {"grain tables", h.grain_tables_offset, h.grain_tables_size},
      {"grains", h.grains_offset, h.grains_size},
  }};
  for (std::size_t i = 0; i < areas.size(); ++i) {
    const Area& a = areas[i];
    if (a.size == 0) continue;  // decode keeps offsets and sizes below 2^48: no overflow
    if (a.offset == 0)
      problem(kHeader, fmt::format("{}: {} area (sectors {}+{}) overlaps the header", name, a.what,
                                   a.offset, a.size));
    for (std::size_t j = i + 1; j < areas.size(); ++j) {
      const Area& b = areas[j];
      if (b.size != 0 && a.offset < b.offset + b.size && b.offset < a.offset + a.size)
        problem(kHeader, fmt::format("{}: {} area (sectors {}+{}) overlaps the {} area (sectors "
                                     "{}+{})",
                                     name, a.what, a.offset, a.size, b.what, b.offset, b.size));
    }
  }
  if (h.grain_tables_size % kSeGtSectors != 0 || h.grains_size % kSeGrainSectors != 0)
    problem(kHeader,
            fmt::format("{}: grain tables area of {} sectors and grains area of {} "
                        "sectors are not whole tables ({}) and grains ({})",
                        name, h.grain_tables_size, h.grains_size, kSeGtSectors, kSeGrainSectors));
  std::vector<Region> regions;
  regions.push_back({0, 1, 0, kHeaderRegion});
  // The volatile header: magic, and no journal waiting to be replayed.
  const std::uint64_t vat = h.volatile_header_offset;
  std::array<std::byte, 32> vol{};
  if (vat == 0 || !detail::range_inside(vat, 1, fsectors) || !f.read_at(vat * kSector, vol).ok()) {
    problem(kHeader, fmt::format("{}: volatile header at sector {} lies outside the file ({} "
                                 "sectors)",
                                 name, vat, fsectors));
  } else {
    regions.push_back({vat, vat + 1, 0, kVolatileRegion});
    const std::uint64_t magic = detail::load_le64(vol);
    if (magic != kSeSparseVolatileMagic)
      problem(kHeader, fmt::format("{}: volatile header at sector {}: magic expected 0x{:016x}, "
                                   "found 0x{:016x}",
                                   name, vat, kSeSparseVolatileMagic, magic));
    else if (u64_at(vol, 3) != 0)
      problem(kHeader, fmt::format("{}: volatile header at sector {}: the journal needs replaying "
                                   "(the disk was not closed cleanly)",
                                   name, vat));
  }
  const std::uint64_t entries = detail::div_ceil(h.capacity, kSeGrainSectors * kSeGtes);
  const std::uint64_t gd_sectors = detail::div_ceil(entries * 8, kSector);
  std::vector<std::byte> gd_raw;
  if (entries * 8 > kMaxGdBytes) {
    problem(kGdInside, fmt::format("{}: grain directory of {} entries exceeds the {} byte limit",
                                   name, entries, kMaxGdBytes));
    return;
  }
  gd_raw.resize(static_cast<std::size_t>(entries * 8));
  if (!detail::range_inside(h.grain_dir_offset, gd_sectors, fsectors) ||
      !f.read_at(h.grain_dir_offset * kSector, gd_raw).ok()) {
    problem(kGdInside, fmt::format("{}: grain directory ({} entries at sector {}) lies past the "
                                   "end ({} bytes)",
                                   name, entries, h.grain_dir_offset, fsize));
    return;
  }
  regions.push_back({h.grain_dir_offset, h.grain_dir_offset + gd_sectors, 0, kGdRegion});
  const std::uint64_t tables = h.grain_tables_size / kSeGtSectors;
  const std::uint64_t clusters = h.grains_size / kSeGrainSectors;
  const std::uint64_t grains = detail::div_ceil(h.capacity, kSeGrainSectors);
  std::uint64_t allocated = 0;
  std::vector<std::byte> gt(kSeGtSectors * kSector);
  for (std::uint64_t t = 0; t < entries; ++t) {
    const std::uint64_t gde = u64_at(gd_raw, t);
    if (gde == 0) continue;
    const std::uint64_t index = gde & 0xFFFFFFFFull;
    if ((gde >> 32) != (kSeGdeTable >> 32)) {
      problem(kGtInside, fmt::format("{}: grain directory entry {} is 0x{:016x}: not an allocated "
                                     "grain table (0x1000000000000000 | index)",
                                     name, t, gde));
      continue;
    }
    const std::uint64_t at = h.grain_tables_offset + index * kSeGtSectors;
    if (index >= tables || !detail::range_inside(at, kSeGtSectors, fsectors) ||
        !f.read_at(at * kSector, gt).ok()) {
      problem(kGtInside, fmt::format("{}: grain directory entry {} names grain table {} (sector "
                                     "{}), outside the {}-table area or past the end ({} sectors)",
                                     name, t, index, at, tables, fsectors));
      continue;
    }
    regions.push_back({at, at + kSeGtSectors, t, kGtRegion});
    for (std::uint64_t i = 0; i < kSeGtes; ++i) {
      const std::uint64_t e = u64_at(gt, i);
      const std::uint64_t g = t * kSeGtes + i;
      const std::uint64_t type = e >> 60;
      if ((type == 0 && e != 0) || type > 3) {
        problem(kGteType,
                fmt::format("{}: grain table {} entry {} (grain {}) at byte {} is "
                            "0x{:016x}: type {} is none of 0 (unallocated), 1 (unmapped), "
                            "2 (zero), 3 (allocated)",
                            name, t, i, g, at * kSector + i * 8, e, type));
        continue;
      }
      if (type != 3) continue;
      const std::uint64_t cluster =
          ((e & 0x0FFF000000000000ull) >> 48) | ((e & 0x0000FFFFFFFFFFFFull) << 12);
      if (g >= grains) {
        problem(kGrainInside, fmt::format("{}: grain table {} entry {} (cluster {}) lies beyond "
                                          "the capacity ({} grains)",
                                          name, t, i, cluster, grains));
        continue;
      }
      ++allocated;
      const std::uint64_t sectors = std::min(kSeGrainSectors, h.capacity - g * kSeGrainSectors);
      const std::uint64_t sector = h.grains_offset + cluster * kSeGrainSectors;
      if (cluster >= clusters || !detail::range_inside(sector, sectors, fsectors)) {
        problem(kGrainInside, fmt::format("{}: grain {} is cluster {} (sector {}), outside the "
                                          "{}-cluster grains area or past the end ({} sectors)",
                                          name, g, cluster, sector, clusters, fsectors));
        continue;
      }
      if (regions.size() < kMaxRegions)
        regions.push_back({sector, sector + sectors, g, kGrainRegion});
      else
        regions_capped_ = true;
    }
  }
  count_allocated(allocated);
  find_overlaps(regions, name);
}

}  // namespace vdisk::vmdk::check
