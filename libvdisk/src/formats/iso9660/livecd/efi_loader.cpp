// Classifying a UEFI loader's PE image for Secure Boot (see efi_loader.h).
#include "formats/iso9660/livecd/efi_loader.h"

#include <algorithm>
#include <cstring>
#include <string_view>

#include <fmt/format.h>

#include "base/checked.h"
#include "base/endian.h"

namespace vdisk::livecd {
namespace {

using vdisk::detail::load_le16;
using vdisk::detail::load_le32;
using vdisk::detail::range_inside;

constexpr std::size_t kCoffHeader = 20;
constexpr std::size_t kSectionHeader = 40;
constexpr std::uint32_t kCertificateDirectory = 4;
constexpr std::uint16_t kWinCertRevision2 = 0x0200;
constexpr std::uint16_t kWinCertPkcsSignedData = 0x0002;

bool contains(std::span<const std::byte> hay, std::string_view needle) {
  const auto* b = reinterpret_cast<const char*>(hay.data());
  return std::search(b, b + hay.size(), needle.begin(), needle.end()) != b + hay.size();
}

}  // namespace

std::string efi_machine_name(std::uint16_t machine) {
  switch (machine) {
    case 0x8664:
      return "x86-64";
    case 0xAA64:
      return "arm64";
    case 0x014C:
      return "i386";
    default:
      return fmt::format("0x{:04x}", machine);
  }
}

std::string describe_efi_loader(const EfiLoaderFacts& f) {
  if (!f.pe) return "not a PE image: " + f.problem;
  std::string s = f.shim ? "shim, " : "";
  s += f.signed_image ? (f.microsoft_ca ? "signed (Microsoft UEFI CA)" : "signed (another key)")
                      : "not signed";
  return s + ", " + efi_machine_name(f.machine);
}

EfiLoaderFacts classify_efi_loader(std::span<const std::byte> b) {
  EfiLoaderFacts f;
  const std::uint64_t size = b.size();
  if (size < 0x40 || b[0] != std::byte{'M'} || b[1] != std::byte{'Z'}) {
    f.problem = "no MZ header";
    return f;
  }
  const std::uint32_t pe = load_le32(b.subspan(0x3C));
  if (!range_inside(pe, 4 + kCoffHeader, size) || std::memcmp(b.data() + pe, "PE\0\0", 4) != 0) {
    f.problem = fmt::format("no PE signature at e_lfanew {}", pe);
    return f;
  }
  const auto coff = b.subspan(pe + 4, kCoffHeader);
  f.machine = load_le16(coff);
  const std::uint16_t sections = load_le16(coff.subspan(2));
  const std::uint16_t optional_size = load_le16(coff.subspan(16));
  const std::uint64_t optional = std::uint64_t{pe} + 4 + kCoffHeader;
  if (!range_inside(optional, optional_size, size) || optional_size < 2) {
    f.problem =
        fmt::format("optional header of {} bytes at {} past the image", optional_size, optional);
    return f;
  }
  const auto opt = b.subspan(static_cast<std::size_t>(optional), optional_size);
  const std::uint16_t magic = load_le16(opt);
  std::size_t count_at = 0;
  if (magic == 0x20B) {
    count_at = 108;  // PE32+
  } else if (magic == 0x10B) {
    count_at = 92;  // PE32
  } else {
    f.problem = fmt::format("optional header magic 0x{:04x}, expected 0x10b or 0x20b", magic);
    return f;
  }
  f.pe = true;
  // Sections: shim names itself in its SBAT metadata (a ".sbat" section of CSV lines, the
  // component line "shim,<generation>,..."; the SBAT specification in shim's repository) and keeps
  // its vendor certificate in
  // ".vendor_cert" (stored truncated to ".vendor_" in an image's 8-byte name field).
  const std::uint64_t table = optional + optional_size;
  if (range_inside(table, std::uint64_t{sections} * kSectionHeader, size)) {
    for (std::uint16_t i = 0; i < sections; ++i) {
      const auto h = b.subspan(static_cast<std::size_t>(table + std::uint64_t{i} * kSectionHeader),
                               kSectionHeader);
      const std::string_view name(reinterpret_cast<const char*>(h.data()),
                                  strnlen(reinterpret_cast<const char*>(h.data()), 8));
      if (name.starts_with(".vendor_")) f.shim = true;
      if (name != ".sbat") continue;
      const std::uint32_t raw_size = load_le32(h.subspan(16));
      const std::uint32_t raw_at = load_le32(h.subspan(20));
      if (!range_inside(raw_at, raw_size, size)) continue;
      const std::string_view sbat(reinterpret_cast<const char*>(b.data() + raw_at),
                                  std::min<std::uint32_t>(raw_size, 4096));
      for (std::size_t at = 0; at < sbat.size();) {
        const auto nl = sbat.find('\n', at);
        const std::string_view line =
            sbat.substr(at, nl == std::string_view::npos ? sbat.npos : nl - at);
        if (line.starts_with("shim,")) f.shim = true;
        if (nl == std::string_view::npos) break;
        at = nl + 1;
      }
    }
  }
  // The certificate table (a file offset and size), when the directory has entry 4.
  if (!range_inside(count_at, 4, opt.size())) {
    f.problem = "optional header too short for its data directory count";
    return f;
  }
  const std::uint32_t dirs = load_le32(opt.subspan(count_at));
  const std::size_t entry = count_at + 4 + kCertificateDirectory * 8;
  if (dirs <= kCertificateDirectory || !range_inside(entry, 8, opt.size())) return f;
  const std::uint32_t cert_at = load_le32(opt.subspan(entry));
  const std::uint32_t cert_size = load_le32(opt.subspan(entry + 4));
  if (cert_size == 0) return f;
  if (!range_inside(cert_at, cert_size, size) || cert_size < 8) {
    f.problem = fmt::format("certificate table of {} bytes at {} past the {}-byte image", cert_size,
                            cert_at, size);
    return f;
  }
  // WIN_CERTIFICATE entries, each 8-byte aligned.
  for (std::uint64_t at = cert_at; at + 8 <= std::uint64_t{cert_at} + cert_size;) {
    const auto c = b.subspan(static_cast<std::size_t>(at));
    const std::uint32_t length = load_le32(c);
    if (length < 8 || !range_inside(at, length, std::uint64_t{cert_at} + cert_size)) {
      f.problem =
          fmt::format("certificate entry at {} of {} bytes runs past the table", at, length);
      break;
    }
    if (load_le16(c.subspan(4)) == kWinCertRevision2 &&
        load_le16(c.subspan(6)) == kWinCertPkcsSignedData) {
      f.signed_image = true;
      const auto der = c.subspan(8, length - 8);
      if (contains(der, "Microsoft Corporation UEFI CA 2011") ||
          contains(der, "Microsoft UEFI CA 2023"))
        f.microsoft_ca = true;
    }
    at += (std::uint64_t{length} + 7) / 8 * 8;
  }
  return f;
}

}  // namespace vdisk::livecd
