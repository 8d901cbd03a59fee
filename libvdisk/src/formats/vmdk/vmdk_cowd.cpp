// COWD (VMFSSPARSE) extents: the ESX redo-log format. Header layout: VMware "Virtual Disk
// Format" technote, "ESX Server Sparse Extents"; docs/vmdk.md §1.
#include <algorithm>
#include <cstring>

#include <fmt/format.h>

#include "base/checked.h"
#include "base/endian.h"
#include "formats/vmdk/vmdk_extent.h"
#include "formats/vmdk/vmdk_format.h"

namespace vdisk::vmdk {
namespace {

constexpr std::size_t kOffCowdVersion = 4;
constexpr std::size_t kOffCowdFlags = 8;
constexpr std::size_t kOffCowdCapacity = 12;
constexpr std::size_t kOffCowdGrain = 16;
constexpr std::size_t kOffCowdGd = 20;
constexpr std::size_t kOffCowdGdEntries = 24;
constexpr std::size_t kOffCowdFree = 28;
constexpr std::size_t kOffCowdParentName = 32;  // child: char[1024]
constexpr std::size_t kCowdParentNameSize = 1024;
constexpr std::size_t kOffCowdGeneration = 1060;
constexpr std::size_t kOffCowdUnclean = 1648;
constexpr std::uint64_t kMaxCowdGdEntries = 1u << 20;

}  // namespace

std::uint64_t CowdHeader::needed_gd_entries() const {
  return detail::div_ceil(capacity, std::uint64_t{kCowdGtes} * grain_size);
}

Result<CowdHeader> decode_cowd_header(std::span<const std::byte> b) {
  auto bad = [](std::string_view d) { return corrupt_at("vmdk", "COWD header", 0, d); };
  if (b.size() < kCowdHeaderSize)
    return bad(fmt::format("expected {} bytes, found {}", kCowdHeaderSize, b.size()));
  const std::uint32_t magic = detail::load_le32(b);
  if (magic != kCowdMagic)
    return bad(
        fmt::format("magic expected 0x{:08x} (\"COWD\"), found 0x{:08x}", kCowdMagic, magic));
  CowdHeader h;
  h.version = detail::load_le32(b.subspan(kOffCowdVersion));
  h.flags = detail::load_le32(b.subspan(kOffCowdFlags));
  h.capacity = detail::load_le32(b.subspan(kOffCowdCapacity));
  h.grain_size = detail::load_le32(b.subspan(kOffCowdGrain));
  h.gd_offset = detail::load_le32(b.subspan(kOffCowdGd));
  h.gd_entries = detail::load_le32(b.subspan(kOffCowdGdEntries));
  h.free_sector = detail::load_le32(b.subspan(kOffCowdFree));
  const char* name = reinterpret_cast<const char*>(b.data() + kOffCowdParentName);
  h.parent_file.assign(name, strnlen(name, kCowdParentNameSize));
  h.generation = detail::load_le32(b.subspan(kOffCowdGeneration));
  h.unclean_shutdown = detail::load_le32(b.subspan(kOffCowdUnclean));
  if (h.version != 1)
    return unsupported(fmt::format("vmdk: COWD header: version {} (expected 1)", h.version));
  if (h.grain_size == 0 || h.grain_size > kMaxGrainSectors)
    return bad(fmt::format("grain size expected 1 to {} sectors, found {}", kMaxGrainSectors,
                           h.grain_size));
  if (h.gd_entries < h.needed_gd_entries() || h.gd_entries > kMaxCowdGdEntries)
    return bad(fmt::format("grain directory entries expected {} to {} for {} sectors, found {}",
                           h.needed_gd_entries(), kMaxCowdGdEntries, h.capacity, h.gd_entries));
  return h;
}

void encode_cowd_header(const CowdHeader& h, std::span<std::byte> out) {
  std::memset(out.data(), 0, kCowdHeaderSize);
  detail::store_le32(out, kCowdMagic);
  detail::store_le32(out.subspan(kOffCowdVersion), h.version);
  detail::store_le32(out.subspan(kOffCowdFlags), h.flags);
  detail::store_le32(out.subspan(kOffCowdCapacity), h.capacity);
  detail::store_le32(out.subspan(kOffCowdGrain), h.grain_size);
  detail::store_le32(out.subspan(kOffCowdGd), h.gd_offset);
  detail::store_le32(out.subspan(kOffCowdGdEntries), h.gd_entries);
  detail::store_le32(out.subspan(kOffCowdFree), h.free_sector);
  std::memcpy(out.data() + kOffCowdParentName, h.parent_file.data(),
              std::min(h.parent_file.size(), kCowdParentNameSize - 1));
  detail::store_le32(out.subspan(kOffCowdGeneration), h.generation);
  detail::store_le32(out.subspan(kOffCowdUnclean), h.unclean_shutdown);
}

Result<std::unique_ptr<ExtentReader>> open_cowd_extent(std::shared_ptr<const RandomAccessFile> file,
                                                       std::optional<std::uint64_t> size_bytes) {
  std::array<std::byte, kCowdHeaderSize> raw{};
  if (file->size() < raw.size())
    return corrupt_at(
        "vmdk", "COWD header", 0,
        fmt::format("file {} has {} bytes, fewer than a header", file->name(), file->size()));
  VDISK_RETURN_IF_ERROR(file->read_at(0, raw));
  auto decoded = decode_cowd_header(raw);
  if (!decoded.ok()) return decoded.status().with_context(file->name());
  const CowdHeader& c = *decoded;
  const std::uint64_t capacity = std::uint64_t{c.capacity} * kSector;
  const std::uint64_t size = size_bytes.value_or(capacity);
  if (size > capacity)
    return corrupt(
        fmt::format("vmdk: COWD extent {}: descriptor size {} bytes exceeds the header "
                    "capacity {} bytes",
                    file->name(), size, capacity));
  const std::uint64_t entries = c.needed_gd_entries();
  const std::uint64_t gd_at = std::uint64_t{c.gd_offset} * kSector;
  if (!detail::range_inside(gd_at, entries * 4, file->size()))
    return corrupt_at("vmdk", "COWD grain directory", gd_at,
                      fmt::format("{} entries lie past the end of {} ({} bytes)", entries,
                                  file->name(), file->size()));
  std::vector<std::byte> gd_raw(static_cast<std::size_t>(entries * 4));
  VDISK_RETURN_IF_ERROR(file->read_at(gd_at, gd_raw));
  std::vector<std::uint32_t> gd(static_cast<std::size_t>(entries));
  for (std::size_t i = 0; i < gd.size(); ++i)
    gd[i] = detail::load_le32(std::span<const std::byte>(gd_raw).subspan(i * 4));
  // The equivalent hosted-sparse geometry: no flags (GTE 1 is a real sector, not "zeroed").
  SparseHeader h;
  h.version = 1;
  h.capacity = c.capacity;
  h.grain_size = c.grain_size;
  h.num_gtes_per_gt = kCowdGtes;
  h.gd_offset = c.gd_offset;
  return make_sparse_reader(std::move(file), h, std::move(gd), size);
}

}  // namespace vdisk::vmdk
