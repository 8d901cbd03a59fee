// GNU tar header codec (see tar.h; byte layout: docs/cloud.md, "GCP image tarballs" 3-4).
#include "tar/tar.h"

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

#include "base/checked.h"

namespace vdisk::gcp {
namespace {

// Header field offsets and widths.
constexpr std::size_t kName = 0, kNameLen = 100;
constexpr std::size_t kMode = 100, kUid = 108, kGid = 116;
constexpr std::size_t kSize = 124, kMtime = 136, kChksum = 148, kTypeflag = 156;
constexpr std::size_t kMagic = 257, kUname = 265, kGname = 297;
constexpr std::size_t kSparse = 386, kIsExtended = 482, kRealSize = 483;
constexpr std::size_t kExtIsExtended = 504;
constexpr std::size_t kEntryBytes = 24, kNum = 12;
constexpr char kGnuMagic[8] = {'u', 's', 't', 'a', 'r', ' ', ' ', '\0'};
constexpr char kUstarMagic[6] = {'u', 's', 't', 'a', 'r', '\0'};

void put_text(std::span<std::byte> block, std::size_t at, std::string_view text) {
  for (std::size_t i = 0; i < text.size(); ++i) block[at + i] = static_cast<std::byte>(text[i]);
}

// Octal with width-1 digits and a NUL when it fits, else base-256 (0x80, big-endian binary).
void put_number(std::span<std::byte> block, std::size_t at, std::size_t width, std::uint64_t v) {
  const unsigned digits = static_cast<unsigned>(width - 1);
  if (digits * 3 >= 64 || v < (std::uint64_t{1} << (digits * 3))) {
    put_text(block, at, fmt::format("{:0{}o}", v, digits));
    block[at + digits] = std::byte{0};
    return;
  }
  block[at] = std::byte{0x80};
  for (std::size_t i = 1; i < width; ++i) {
    const std::size_t shift = 8 * (width - 1 - i);
    block[at + i] = shift >= 64 ? std::byte{0} : static_cast<std::byte>((v >> shift) & 0xff);
  }
}

void put_entry(std::span<std::byte> block, std::size_t at, const SparseRegion& r) {
  put_number(block, at, kNum, r.offset);
  put_number(block, at + kNum, kNum, r.length);
}

struct Sums {
  std::uint32_t unsigned_sum = 0;
  std::int32_t signed_sum = 0;
};
Sums checksums(std::span<const std::byte> block) {
  Sums s;
  for (std::size_t i = 0; i < kTarBlock; ++i) {
    const bool in_field = i >= kChksum && i < kChksum + 8;
    const auto u = in_field ? std::uint8_t{' '} : static_cast<std::uint8_t>(block[i]);
    s.unsigned_sum += u;
    s.signed_sum += static_cast<std::int8_t>(u);
  }
  return s;
}

Status check_spec(const MemberSpec& spec) {
  if (spec.name.empty() || spec.name.size() > kNameLen || spec.name.find('\0') != std::string::npos)
    return invalid_argument(fmt::format("tar: member name '{}' must be 1..100 bytes", spec.name));
  if (spec.mtime < 0) return invalid_argument("tar: negative mtime");
  if (!spec.sparse) {
    if (!spec.regions.empty()) return invalid_argument("tar: regions given for a regular member");
    return {};
  }
  std::uint64_t end = 0;
  for (const auto& r : spec.regions) {
    if (r.length == 0 || r.offset % kTarBlock != 0 || r.length % kTarBlock != 0)
      return invalid_argument(
          fmt::format("tar: sparse region [{}, +{}) is not whole 512-byte "
                      "blocks",
                      r.offset, r.length));
    if (r.offset < end || !detail::range_inside(r.offset, r.length, spec.real_size))
      return invalid_argument(
          fmt::format("tar: sparse region [{}, +{}) overlaps or lies outside "
                      "the file of {} bytes",
                      r.offset, r.length, spec.real_size));
    end = r.offset + r.length;
  }
  return {};
}

bool parse_fails_on(std::byte b) {
  const auto c = static_cast<char>(b);
  return c != '\0' && c != ' ';
}

}  // namespace

std::uint64_t stored_bytes(const MemberSpec& spec) {
  if (!spec.sparse) return spec.real_size;
  std::uint64_t sum = 0;
  for (const auto& r : spec.regions) sum += r.length;
  return sum;
}

Result<std::vector<std::byte>> encode_member_header(const MemberSpec& spec) {
  VDISK_RETURN_IF_ERROR(check_spec(spec));
  std::vector<SparseRegion> map = spec.regions;
  if (spec.sparse) map.push_back({spec.real_size, 0});
  const std::size_t extra = map.size() > kHeaderMapEntries ? map.size() - kHeaderMapEntries : 0;
  const std::size_t ext_blocks = (extra + kExtensionMapEntries - 1) / kExtensionMapEntries;
  std::vector<std::byte> out((1 + ext_blocks) * kTarBlock, std::byte{0});
  std::span<std::byte> h(out.data(), kTarBlock);

  put_text(h, kName, spec.name);
  put_number(h, kMode, 8, 0644);
  put_number(h, kUid, 8, 0);
  put_number(h, kGid, 8, 0);
  put_number(h, kSize, kNum, stored_bytes(spec));
  put_number(h, kMtime, kNum, static_cast<std::uint64_t>(spec.mtime));
  h[kTypeflag] = static_cast<std::byte>(spec.sparse ? 'S' : '0');
  put_text(h, kMagic, std::string_view(kGnuMagic, sizeof kGnuMagic));
  put_text(h, kUname, "root");
  put_text(h, kGname, "root");
  if (spec.sparse) {
    for (std::size_t i = 0; i < std::min(map.size(), kHeaderMapEntries); ++i)
      put_entry(h, kSparse + i * kEntryBytes, map[i]);
    h[kIsExtended] = static_cast<std::byte>(ext_blocks > 0 ? 1 : 0);
    put_number(h, kRealSize, kNum, spec.real_size);
  }
  const std::uint32_t sum = checksums(h).unsigned_sum;
  put_text(h, kChksum, fmt::format("{:06o}", sum));
  h[kChksum + 6] = std::byte{0};
  h[kChksum + 7] = static_cast<std::byte>(' ');

  for (std::size_t b = 0; b < ext_blocks; ++b) {
    std::span<std::byte> e(out.data() + (1 + b) * kTarBlock, kTarBlock);
    const std::size_t first = kHeaderMapEntries + b * kExtensionMapEntries;
    const std::size_t n = std::min(kExtensionMapEntries, map.size() - first);
    for (std::size_t i = 0; i < n; ++i) put_entry(e, i * kEntryBytes, map[first + i]);
    e[kExtIsExtended] = static_cast<std::byte>(b + 1 < ext_blocks ? 1 : 0);
  }
  return out;
}

std::uint64_t end_of_archive_bytes(std::uint64_t archive_bytes) {
  const std::uint64_t with_zeros = archive_bytes + 2 * kTarBlock;
  const std::uint64_t rem = with_zeros % kTarRecord;
  return 2 * kTarBlock + (rem == 0 ? 0 : kTarRecord - rem);
}

bool is_zero_block(std::span<const std::byte> block) {
  return std::all_of(block.begin(), block.end(), [](std::byte b) { return b == std::byte{0}; });
}

Result<std::uint64_t> parse_number(std::span<const std::byte> field) {
  if (field.empty()) return corrupt("tar: empty numeric field");
  const auto first = static_cast<std::uint8_t>(field[0]);
  if (first == 0x80) {
    std::uint64_t v = 0;
    for (std::size_t i = 1; i < field.size(); ++i) {
      if ((v >> 56) != 0) return corrupt("tar: base-256 number exceeds 64 bits");
      v = (v << 8) | static_cast<std::uint8_t>(field[i]);
    }
    return v;
  }
  if (first == 0xff) return corrupt("tar: negative base-256 number");
  std::size_t i = 0;
  while (i < field.size() && field[i] == static_cast<std::byte>(' ')) ++i;
  std::uint64_t v = 0;
  for (; i < field.size(); ++i) {
    const auto c = static_cast<char>(field[i]);
    if (c < '0' || c > '7') break;
    if ((v >> 61) != 0) return corrupt("tar: octal number exceeds 64 bits");
    v = v * 8 + static_cast<std::uint64_t>(c - '0');
  }
  if (i < field.size() && parse_fails_on(field[i]))
    return corrupt(fmt::format("tar: numeric field has byte 0x{:02x} at position {}",
                               static_cast<unsigned>(field[i]), i));
  return v;
}

Result<DecodedHeader> decode_header(std::span<const std::byte> block, std::uint64_t offset) {
  if (block.size() != kTarBlock)
    return corrupt_at("tar", "header", offset,
                      fmt::format("expected 512 bytes, found {}", block.size()));
  DecodedHeader h;
  auto field = [&](std::size_t at, std::size_t len) { return block.subspan(at, len); };
  auto number = [&](std::size_t at, std::size_t len, const char* what) -> Result<std::uint64_t> {
    auto v = parse_number(field(at, len));
    if (!v.ok())
      return corrupt_at("tar", fmt::format("header {} field", what), offset, v.status().message());
    return v;
  };
  std::size_t name_len = 0;
  while (name_len < kNameLen && block[kName + name_len] != std::byte{0}) ++name_len;
  h.name.assign(reinterpret_cast<const char*>(block.data() + kName), name_len);
  h.typeflag = static_cast<char>(block[kTypeflag]);
  if (std::memcmp(block.data() + kMagic, kGnuMagic, sizeof kGnuMagic) == 0)
    h.magic = TarMagic::gnu;
  else if (std::memcmp(block.data() + kMagic, kUstarMagic, sizeof kUstarMagic) == 0)
    h.magic = TarMagic::ustar;
  const Sums sums = checksums(block);
  h.unsigned_checksum = sums.unsigned_sum;
  h.signed_checksum = sums.signed_sum;
  VDISK_ASSIGN_OR_RETURN(const std::uint64_t stored, number(kChksum, 8, "checksum"));
  h.stored_checksum = static_cast<std::uint32_t>(std::min<std::uint64_t>(stored, 0xFFFFFFFF));
  h.checksum_ok = stored == sums.unsigned_sum ||
                  (sums.signed_sum >= 0 && stored == static_cast<std::uint64_t>(sums.signed_sum));
  VDISK_ASSIGN_OR_RETURN(h.mode, number(kMode, 8, "mode"));
  VDISK_ASSIGN_OR_RETURN(h.size, number(kSize, kNum, "size"));
  VDISK_ASSIGN_OR_RETURN(h.mtime, number(kMtime, kNum, "mtime"));
  if (h.typeflag == 'S') {
    h.is_extended = block[kIsExtended] != std::byte{0};
    VDISK_ASSIGN_OR_RETURN(h.real_size, number(kRealSize, kNum, "realsize"));
    for (std::size_t i = 0; i < kHeaderMapEntries; ++i) {
      const std::size_t at = kSparse + i * kEntryBytes;
      if (block[at] == std::byte{0}) break;
      VDISK_ASSIGN_OR_RETURN(const std::uint64_t o, number(at, kNum, "sparse offset"));
      VDISK_ASSIGN_OR_RETURN(const std::uint64_t n, number(at + kNum, kNum, "sparse numbytes"));
      h.map.push_back({o, n});
    }
  }
  return h;
}

Result<bool> decode_sparse_extension(std::span<const std::byte> block, std::uint64_t offset,
                                     std::vector<SparseRegion>& map, std::size_t max_entries) {
  if (block.size() != kTarBlock)
    return corrupt_at("tar", "sparse extension", offset, "expected 512 bytes");
  for (std::size_t i = 0; i < kExtensionMapEntries; ++i) {
    const std::size_t at = i * kEntryBytes;
    if (block[at] == std::byte{0}) break;
    if (map.size() >= max_entries)
      return resource_exhausted(
          fmt::format("tar: sparse extension at offset {}: more than {} "
                      "map entries",
                      offset, max_entries));
    auto o = parse_number(block.subspan(at, kNum));
    auto n = parse_number(block.subspan(at + kNum, kNum));
    if (!o.ok() || !n.ok())
      return corrupt_at("tar", "sparse extension entry", offset,
                        (!o.ok() ? o.status() : n.status()).message());
    map.push_back({*o, *n});
  }
  return block[kExtIsExtended] != std::byte{0};
}

Status validate_sparse_map(const std::vector<SparseRegion>& map, std::uint64_t real_size,
                           std::uint64_t stored_size) {
  if (map.empty()) return corrupt("tar: sparse map is empty (no terminating entry)");
  const SparseRegion& last = map.back();
  if (last.length != 0 || last.offset != real_size)
    return corrupt(
        fmt::format("tar: sparse map ends with ({}, {}), expected the terminator "
                    "({}, 0)",
                    last.offset, last.length, real_size));
  std::uint64_t end = 0, sum = 0;
  for (std::size_t i = 0; i + 1 < map.size(); ++i) {
    const SparseRegion& r = map[i];
    if (r.offset < end)
      return corrupt(
          fmt::format("tar: sparse entry {} at {} overlaps or precedes the previous "
                      "region ending at {}",
                      i, r.offset, end));
    if (!detail::range_inside(r.offset, r.length, real_size))
      return corrupt(
          fmt::format("tar: sparse entry {} [{}, +{}) lies outside the file of {} "
                      "bytes",
                      i, r.offset, r.length, real_size));
    if (r.length % kTarBlock != 0)
      return corrupt(
          fmt::format("tar: sparse entry {} length {} is not whole 512-byte blocks", i, r.length));
    end = r.offset + r.length;
    sum += r.length;
  }
  if (sum != stored_size)
    return corrupt(fmt::format("tar: sparse regions hold {} bytes but the header size is {}", sum,
                               stored_size));
  return {};
}

}  // namespace vdisk::gcp
