// The test VDI writer (vdi_builder.h); field offsets as docs/vdi.md lists them.
#include "vdi_builder.h"

#include <cstring>

#include "base/endian.h"

namespace vdisk::test {
namespace {

void put32(std::vector<std::byte>& b, std::size_t off, std::uint32_t v) {
  detail::store_le32(std::span(b).subspan(off), v);
}

void put_uuid(std::vector<std::byte>& b, std::size_t off, std::uint8_t seed) {
  for (std::size_t i = 0; i < 16; ++i) b[off + i] = std::byte(static_cast<std::uint8_t>(seed + i));
}

}  // namespace

VdiBuilder::VdiBuilder(VdiSpec spec) : spec_(std::move(spec)), map_(blocks(), 0xFFFFFFFFu) {
  if (spec_.type == 2)
    for (std::uint32_t bi = 0; bi < blocks(); ++bi) add_block(bi, {});
}

std::uint32_t VdiBuilder::blocks() const {
  return static_cast<std::uint32_t>((spec_.disk_size + spec_.block_size - 1) / spec_.block_size);
}

std::uint64_t VdiBuilder::data_offset() const {
  if (spec_.data_offset != 0) return spec_.data_offset;
  return (kMapOffset + 4 * std::uint64_t{blocks()} + 511) / 512 * 512;
}

std::uint64_t VdiBuilder::add_block(std::uint32_t bi, std::vector<std::byte> data) {
  data.resize(spec_.block_size);
  const std::uint32_t slot = allocated_++;
  map_.at(bi) = slot;
  slots_.insert(slots_.end(), spec_.block_extra, std::byte{0xEE});  // extra data, never read
  slots_.insert(slots_.end(), data.begin(), data.end());
  return data_offset() + std::uint64_t{slot} * (spec_.block_size + spec_.block_extra) +
         spec_.block_extra;
}

std::vector<std::byte> VdiBuilder::bytes() const {
  std::vector<std::byte> b(static_cast<std::size_t>(data_offset()));
  constexpr std::string_view kBanner = "<<< QEMU VM Virtual Disk Image >>>\n";
  std::memcpy(b.data(), kBanner.data(), kBanner.size());
  put32(b, 0x40, 0xBEDA107F);
  put32(b, 0x44, 0x00010001);
  put32(b, 0x48, spec_.header_size);
  put32(b, 0x4C, spec_.type);
  std::memcpy(b.data() + 0x54, spec_.comment.data(),
              std::min<std::size_t>(spec_.comment.size(), 255));
  put32(b, 0x154, static_cast<std::uint32_t>(kMapOffset));
  put32(b, 0x158, static_cast<std::uint32_t>(data_offset()));
  put32(b, 0x168, 512);  // legacy geometry sector size
  detail::store_le64(std::span(b).subspan(0x170), spec_.disk_size);
  put32(b, 0x178, spec_.block_size);
  put32(b, 0x17C, spec_.block_extra);
  put32(b, 0x180, blocks());
  put32(b, 0x184, allocated_);
  put_uuid(b, 0x188, spec_.uuid_seed);
  put_uuid(b, 0x198, static_cast<std::uint8_t>(spec_.uuid_seed + 0x40));
  if (spec_.parent_uuids) {
    put_uuid(b, 0x1A8, static_cast<std::uint8_t>(spec_.uuid_seed + 0x80));
    put_uuid(b, 0x1B8, static_cast<std::uint8_t>(spec_.uuid_seed + 0xC0));
  }
  if (spec_.header_size >= 0x190) {
    put32(b, 0x1C8, 16);  // LCHS cylinders, heads, sectors, sector size
    put32(b, 0x1CC, 16);
    put32(b, 0x1D0, 63);
    put32(b, 0x1D4, 512);
  }
  for (std::size_t i = 0; i < map_.size(); ++i) put32(b, kMapOffset + 4 * i, map_[i]);
  b.insert(b.end(), slots_.begin(), slots_.end());
  return b;
}

}  // namespace vdisk::test
