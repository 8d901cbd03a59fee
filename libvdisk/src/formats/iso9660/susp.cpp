#include "formats/iso9660/susp.h"

#include <fmt/format.h>

#include "formats/iso9660/iso_records.h"
#include "base/endian.h"

namespace vdisk::iso9660::detail {
namespace {

using vdisk::detail::load_le32;

constexpr std::size_t kHeader = 4;  // signature (2), length (1), version (1)

// SL component flags and NM flags.
constexpr std::uint8_t kContinue = 0x01, kCurrent = 0x02, kParent = 0x04, kRoot = 0x08,
                       kVolRoot = 0x10, kHost = 0x20;

Status bad(std::uint64_t off, std::string_view sig, std::string_view what) {
  return corrupt_at("iso9660", fmt::format("rock ridge {} entry", sig), off, what);
}

bool safe_text(std::span<const std::byte> t) {
  for (std::byte b : t)
    if (b == std::byte{'/'} || b == std::byte{0}) return false;
  return true;
}

Status parse_sl(std::span<const std::byte> e, std::uint64_t off, RockRidge& rr,
                const SuspLimits& limits) {
  if (e.size() < 5) return bad(off, "SL", "shorter than 5 bytes");
  if (rr.sl && !rr.sl_continues) {
    // A second, unrelated SL run: keep the first link (mkisofs never writes this).
    return {};
  }
  rr.sl = true;
  rr.any = true;
  rr.sl_continues = (std::to_integer<std::uint8_t>(e[4]) & kContinue) != 0;
  std::size_t p = 5;
  while (p < e.size()) {
    if (p + 2 > e.size()) return bad(off, "SL", "component header runs past the entry");
    const auto cflags = std::to_integer<std::uint8_t>(e[p]);
    const std::size_t clen = std::to_integer<std::uint8_t>(e[p + 1]);
    if (p + 2 + clen > e.size()) return bad(off, "SL", "component text runs past the entry");
    const auto text = e.subspan(p + 2, clen);
    p += 2 + clen;
    std::string part;
    if (cflags & (kRoot | kVolRoot | kHost)) {
      if (rr.symlink.empty()) rr.symlink = "/";
      rr.sl_component_open = false;
      continue;
    }
    if (cflags & kCurrent) {
      part = ".";
    } else if (cflags & kParent) {
      part = "..";
    } else {
      if (!safe_text(text)) return bad(off, "SL", "component contains '/' or NUL");
      part.assign(reinterpret_cast<const char*>(text.data()), text.size());
    }
    if (!rr.sl_component_open && !rr.symlink.empty() && rr.symlink.back() != '/') rr.symlink += '/';
    rr.symlink += part;
    rr.sl_component_open = (cflags & kContinue) != 0;
    if (rr.symlink.size() > limits.max_symlink_bytes)
      return resource_exhausted(
          fmt::format("iso9660: rock ridge SL entry at offset {}: link target longer than {} bytes",
                      off, limits.max_symlink_bytes));
  }
  return {};
}

Status parse_nm(std::span<const std::byte> e, std::uint64_t off, RockRidge& rr,
                const SuspLimits& limits) {
  if (e.size() < 5) return bad(off, "NM", "shorter than 5 bytes");
  if (rr.nm && !rr.nm_continues) return {};  // keep the first complete name
  const auto flags = std::to_integer<std::uint8_t>(e[4]);
  rr.nm = true;
  rr.any = true;
  rr.nm_continues = (flags & kContinue) != 0;
  if (flags & (kCurrent | kParent)) rr.nm_special = true;
  const auto text = e.subspan(5);
  if (!safe_text(text)) return bad(off, "NM", "name contains '/' or NUL");
  rr.name.append(reinterpret_cast<const char*>(text.data()), text.size());
  if (rr.name.size() > limits.max_name_bytes)
    return resource_exhausted(
        fmt::format("iso9660: rock ridge NM entry at offset {}: name longer than {} bytes", off,
                    limits.max_name_bytes));
  return {};
}

Status parse_tf(std::span<const std::byte> e, std::uint64_t off, RockRidge& rr) {
  if (e.size() < 5) return bad(off, "TF", "shorter than 5 bytes");
  const auto flags = std::to_integer<std::uint8_t>(e[4]);
  const std::size_t w = (flags & 0x80) ? 17 : 7;
  std::size_t p = 5;
  rr.any = true;
  for (int bit = 0; bit < 7; ++bit) {
    if (!(flags & (1u << bit))) continue;
    if (p + w > e.size()) return bad(off, "TF", "time stamps run past the entry");
    const auto stamp = e.subspan(p, w);
    p += w;
    std::optional<std::int64_t> t;
    if (w == 17)
      t = decode_long_date(stamp);
    else
      t = decode_short_date(stamp);
    if (bit == 1) rr.mtime = t;
    if (bit == 2) rr.atime = t;
    if (bit == 3) rr.ctime = t;
  }
  return {};
}

}  // namespace

Status parse_susp_area(std::span<const std::byte> area, std::uint64_t offset, RockRidge& rr,
                       std::optional<Continuation>* next, const SuspLimits& limits) {
  std::size_t p = 0;
  while (area.size() - p >= kHeader) {
    const auto h = area.subspan(p);
    const char s0 = static_cast<char>(h[0]), s1 = static_cast<char>(h[1]);
    const std::size_t len = std::to_integer<std::uint8_t>(h[2]);
    const std::uint64_t off = offset + p;
    const std::string sig{s0, s1};
    // Zero padding at the end of an area (mkisofs pads to even lengths).
    if (s0 == '\0') break;
    if (len < kHeader)
      return corrupt_at("iso9660", "SUSP entry", off,
                        fmt::format("'{}' length expected >= 4, found {}", sig, len));
    if (len > h.size())
      return corrupt_at(
          "iso9660", "SUSP entry", off,
          fmt::format("'{}' length {} runs past the area ({} bytes left)", sig, len, h.size()));
    const auto e = h.first(len);
    p += len;
    auto need = [&](std::size_t n) -> Status {
      if (len < n) return bad(off, sig, fmt::format("length expected >= {}, found {}", n, len));
      return {};
    };
    if (sig == "ST") break;
    if (sig == "SP") {
      VDISK_RETURN_IF_ERROR(need(7));
      if (e[4] != std::byte{0xBE} || e[5] != std::byte{0xEF})
        return bad(off, sig, "check bytes expected BE EF");
      rr.sp = true;
      rr.len_skp = std::to_integer<std::uint8_t>(e[6]);
    } else if (sig == "CE") {
      VDISK_RETURN_IF_ERROR(need(28));
      if (next)
        *next = Continuation{load_le32(e.subspan(4)), load_le32(e.subspan(12)),
                             load_le32(e.subspan(20))};
    } else if (sig == "ER") {
      VDISK_RETURN_IF_ERROR(need(8));
      const std::size_t id_len = std::to_integer<std::uint8_t>(e[4]);
      if (8 + id_len > len) return bad(off, sig, "identifier runs past the entry");
      if (rr.er_id.empty()) rr.er_id.assign(reinterpret_cast<const char*>(e.data() + 8), id_len);
    } else if (sig == "PX") {
      VDISK_RETURN_IF_ERROR(need(36));
      rr.px = rr.any = true;
      rr.mode = load_le32(e.subspan(4));
      rr.nlink = load_le32(e.subspan(12));
      rr.uid = load_le32(e.subspan(20));
      rr.gid = load_le32(e.subspan(28));
    } else if (sig == "PN") {
      VDISK_RETURN_IF_ERROR(need(20));
      rr.pn = rr.any = true;
      rr.device = (std::uint64_t{load_le32(e.subspan(4))} << 32) | load_le32(e.subspan(12));
    } else if (sig == "SL") {
      VDISK_RETURN_IF_ERROR(parse_sl(e, off, rr, limits));
    } else if (sig == "NM") {
      VDISK_RETURN_IF_ERROR(parse_nm(e, off, rr, limits));
    } else if (sig == "CL") {
      VDISK_RETURN_IF_ERROR(need(12));
      rr.cl = load_le32(e.subspan(4));
      rr.any = true;
    } else if (sig == "PL") {
      VDISK_RETURN_IF_ERROR(need(12));
      rr.pl = load_le32(e.subspan(4));
      rr.any = true;
    } else if (sig == "RE") {
      rr.re = rr.any = true;
    } else if (sig == "TF") {
      VDISK_RETURN_IF_ERROR(parse_tf(e, off, rr));
    } else if (sig == "ZF") {
      VDISK_RETURN_IF_ERROR(need(16));
      rr.zf = rr.any = true;
      rr.zf_algorithm.assign(reinterpret_cast<const char*>(e.data() + 4), 2);
      rr.zf_header_size4 = std::to_integer<std::uint8_t>(e[6]);
      rr.zf_block_log2 = std::to_integer<std::uint8_t>(e[7]);
      rr.zf_size = load_le32(e.subspan(8));
    }
    // PD, RR, SF, AS, AL and unknown entries are skipped by their length.
  }
  return {};
}

}  // namespace vdisk::iso9660::detail
