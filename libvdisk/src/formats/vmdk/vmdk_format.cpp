// VMDK header, marker and footer codecs; grain inflation.
#include "formats/vmdk/vmdk_format.h"

#include <cstring>
#include <limits>
#include <vector>

#include <fmt/format.h>

#include "codec/codec.h"
#include "base/checked.h"
#include "base/endian.h"
#include "base/zero.h"

namespace vdisk::vmdk {

using detail::load_le16;
using detail::load_le32;
using detail::load_le64;

std::uint64_t SparseHeader::gd_entries() const {
  const std::uint64_t c = gt_coverage();
  return c == 0 ? 0 : detail::div_ceil(capacity, c);
}

Result<SparseHeader> decode_sparse_header(std::span<const std::byte> b, std::uint64_t at) {
  auto bad = [at](std::string_view detail) {
    return corrupt_at("vmdk", "sparse header", at, detail);
  };
  if (b.size() < kHeaderSize)
    return bad(fmt::format("expected {} bytes, found {}", kHeaderSize, b.size()));
  const std::uint32_t magic = load_le32(b.subspan(kOffMagic));
  if (magic != kSparseMagic)
    return bad(
        fmt::format("magic expected 0x{:08x} (\"KDMV\"), found 0x{:08x}", kSparseMagic, magic));
  SparseHeader h;
  h.version = load_le32(b.subspan(kOffVersion));
  h.flags = load_le32(b.subspan(kOffFlags));
  h.capacity = load_le64(b.subspan(kOffCapacity));
  h.grain_size = load_le64(b.subspan(kOffGrainSize));
  h.descriptor_offset = load_le64(b.subspan(kOffDescriptorOffset));
  h.descriptor_size = load_le64(b.subspan(kOffDescriptorSize));
  h.num_gtes_per_gt = load_le32(b.subspan(kOffNumGtesPerGt));
  h.rgd_offset = load_le64(b.subspan(kOffRgdOffset));
  h.gd_offset = load_le64(b.subspan(kOffGdOffset));
  h.overhead = load_le64(b.subspan(kOffOverhead));
  h.unclean_shutdown = static_cast<std::uint8_t>(b[kOffUncleanShutdown]);
  h.compress_algorithm = load_le16(b.subspan(kOffCompressAlgorithm));

  if (h.version < 1 || h.version > 3)
    return unsupported(fmt::format(
        "vmdk: sparse header at offset {}: version {} (expected 1, 2 or 3)", at, h.version));
  const std::uint32_t incompatible = h.flags & kIncompatibleMask & ~kKnownIncompatible;
  if (incompatible != 0)
    return unsupported(fmt::format(
        "vmdk: sparse header at offset {}: unknown incompatible flags 0x{:08x}", at, incompatible));
  if (h.markers() && !h.compressed())
    return bad(fmt::format("flags 0x{:08x} set markers without compression", h.flags));
  if ((h.flags & kFlagNewlineTest) != 0) {
    static constexpr unsigned char kNl[4] = {'\n', ' ', '\r', '\n'};
    if (std::memcmp(b.data() + kOffNewlineChars, kNl, 4) != 0)
      return bad("newline detection bytes are not 0a 20 0d 0a (file transferred in text mode?)");
  }
  if (!detail::is_power_of_two(h.grain_size) || h.grain_size > kMaxGrainSectors)
    return bad(fmt::format("grain size expected a power of two of 1 to {} sectors, found {}",
                           kMaxGrainSectors, h.grain_size));
  if (h.num_gtes_per_gt == 0 || h.num_gtes_per_gt > kMaxGtesPerGt)
    return bad(
        fmt::format("numGTEsPerGT expected 1 to {}, found {}", kMaxGtesPerGt, h.num_gtes_per_gt));
  if (h.capacity > kMaxCapacitySectors)
    return bad(fmt::format("capacity expected at most {} sectors, found {}", kMaxCapacitySectors,
                           h.capacity));
  if (h.compress_algorithm > kCompressDeflate)
    return unsupported(
        fmt::format("vmdk: sparse header at offset {}: compressAlgorithm {} (expected 0 or 1)", at,
                    h.compress_algorithm));
  if (h.compressed() && h.compress_algorithm != kCompressDeflate)
    return bad(
        fmt::format("compressed flag set but compressAlgorithm is {}", h.compress_algorithm));
  return h;
}

void encode_sparse_header(const SparseHeader& h, std::span<std::byte> out) {
  std::memset(out.data(), 0, kHeaderSize);
  detail::store_le32(out.subspan(kOffMagic), kSparseMagic);
  detail::store_le32(out.subspan(kOffVersion), h.version);
  detail::store_le32(out.subspan(kOffFlags), h.flags);
  detail::store_le64(out.subspan(kOffCapacity), h.capacity);
  detail::store_le64(out.subspan(kOffGrainSize), h.grain_size);
  detail::store_le64(out.subspan(kOffDescriptorOffset), h.descriptor_offset);
  detail::store_le64(out.subspan(kOffDescriptorSize), h.descriptor_size);
  detail::store_le32(out.subspan(kOffNumGtesPerGt), h.num_gtes_per_gt);
  detail::store_le64(out.subspan(kOffRgdOffset), h.rgd_offset);
  detail::store_le64(out.subspan(kOffGdOffset), h.gd_offset);
  detail::store_le64(out.subspan(kOffOverhead), h.overhead);
  out[kOffUncleanShutdown] = static_cast<std::byte>(h.unclean_shutdown);
  out[kOffNewlineChars + 0] = std::byte{'\n'};
  out[kOffNewlineChars + 1] = std::byte{' '};
  out[kOffNewlineChars + 2] = std::byte{'\r'};
  out[kOffNewlineChars + 3] = std::byte{'\n'};
  detail::store_le16(out.subspan(kOffCompressAlgorithm), h.compress_algorithm);
}

Marker decode_marker(std::span<const std::byte> b) {
  Marker m;
  m.value = load_le64(b.subspan(0));
  m.size = load_le32(b.subspan(8));
  m.type = load_le32(b.subspan(12));
  return m;
}

void encode_metadata_marker(std::uint64_t sectors, MarkerType type, std::span<std::byte> out) {
  std::memset(out.data(), 0, kMarkerSize);
  detail::store_le64(out.subspan(0), sectors);
  detail::store_le32(out.subspan(8), 0);
  detail::store_le32(out.subspan(12), static_cast<std::uint32_t>(type));
}

void encode_grain_marker_header(std::uint64_t lba, std::uint32_t size, std::span<std::byte> out) {
  detail::store_le64(out.subspan(0), lba);
  detail::store_le32(out.subspan(8), size);
}

Result<SparseHeader> decode_footer_trio(std::span<const std::byte> b, std::uint64_t at) {
  if (b.size() < kFooterTrioBytes)
    return corrupt_at("vmdk", "footer", at,
                      fmt::format("expected {} bytes, found {}", kFooterTrioBytes, b.size()));
  const Marker fm = decode_marker(b);
  if (fm.size != 0 || fm.type != static_cast<std::uint32_t>(MarkerType::footer))
    return corrupt_at(
        "vmdk", "footer marker", at,
        fmt::format("expected a footer marker (size 0, type 3), found size {} type {}", fm.size,
                    fm.type));
  const Marker eos = decode_marker(b.subspan(2 * kSector));
  if (eos.value != 0 || eos.size != 0 || eos.type != static_cast<std::uint32_t>(MarkerType::eos))
    return corrupt_at("vmdk", "end-of-stream marker", at + 2 * kSector,
                      fmt::format("expected value 0, size 0, type 0, found {}, {}, {}", eos.value,
                                  eos.size, eos.type));
  VDISK_ASSIGN_OR_RETURN(SparseHeader h,
                         decode_sparse_header(b.subspan(kSector, kHeaderSize), at + kSector));
  if (h.gd_at_end())
    return corrupt_at("vmdk", "footer", at + kSector, "the footer's gdOffset is GD_AT_END too");
  return h;
}

Status check_footer_agrees(const SparseHeader& head, const SparseHeader& foot, std::uint64_t at) {
  constexpr std::uint32_t kReadFlags = kFlagZeroedGrainGte | kFlagCompressed | kFlagMarkers;
  const struct {
    std::string_view field;
    std::uint64_t header, footer;
  } fields[] = {{"capacity", head.capacity, foot.capacity},
                {"grainSize", head.grain_size, foot.grain_size},
                {"numGTEsPerGT", head.num_gtes_per_gt, foot.num_gtes_per_gt},
                {"compressAlgorithm", head.compress_algorithm, foot.compress_algorithm},
                {"flags & 0x00030004", head.flags & kReadFlags, foot.flags & kReadFlags}};
  for (const auto& f : fields)
    if (f.header != f.footer)
      return corrupt_at(
          "vmdk", "footer", at,
          fmt::format("{} expected {} (as in the header), found {}", f.field, f.header, f.footer));
  return {};
}

bool looks_like_zlib(std::span<const std::byte> b) {
  if (b.size() < 2) return false;
  const unsigned cmf = std::to_integer<unsigned>(b[0]);
  const unsigned flg = std::to_integer<unsigned>(b[1]);
  return (cmf & 0x0f) == 8 && (cmf >> 4) <= 7 && (cmf * 256 + flg) % 31 == 0;
}

Status inflate_grain(std::span<const std::byte> in, std::span<std::byte> out, std::uint64_t at) {
  // The codec picks the fastest engine built in (ISA-L, else zlib), zlib framing or raw deflate.
  auto n = codec::inflate_zlib_or_raw(in, out);
  if (!n.ok()) {
    if (n.status().code() != Errc::corrupt) return n.status();
    return corrupt_at("vmdk", "compressed grain", at, n.status().message());
  }
  if (*n != out.size())
    return corrupt_at("vmdk", "compressed grain", at,
                      fmt::format("inflates to {} bytes, expected {}", *n, out.size()));
  return {};
}

Result<bool> inflate_last_grain(std::span<const std::byte> in, std::span<std::byte> out,
                                std::uint64_t grain_bytes, std::uint64_t at) {
  if (out.size() >= grain_bytes) {
    VDISK_RETURN_IF_ERROR(inflate_grain(in, out, at));
    return false;
  }
  std::vector<std::byte> whole(static_cast<std::size_t>(grain_bytes));
  auto n = codec::inflate_zlib_or_raw(in, whole);
  if (!n.ok()) {
    if (n.status().code() != Errc::corrupt) return n.status();
    return corrupt_at("vmdk", "compressed grain", at, n.status().message());
  }
  if (*n < out.size())
    return corrupt_at("vmdk", "compressed grain", at,
                      fmt::format("inflates to {} bytes, expected {} to {} (the last grain)", *n,
                                  out.size(), grain_bytes));
  std::memcpy(out.data(), whole.data(), out.size());
  const auto past = std::span<const std::byte>(whole).subspan(out.size(), *n - out.size());
  return !detail::is_zero(past);
}

}  // namespace vdisk::vmdk
