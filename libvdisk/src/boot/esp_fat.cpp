// See esp_fat.h. The FAT layouts: Microsoft "FAT32 File System Specification" 1.03 (boot sector
// fields, the cluster count that decides FAT12/16/32, 32-byte directory entries).
#include "boot/esp_fat.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <string_view>

#include "base/checked.h"
#include "base/endian.h"

namespace vdisk::boot {
namespace {

using vdisk::detail::load_le16;
using vdisk::detail::load_le32;
using vdisk::detail::range_inside;

constexpr std::uint64_t kMaxDirBytes = 1u << 20;

struct Fat {
  const ReadAt* device = nullptr;
  std::uint64_t base = 0, limit = 0;  // partition byte range [base, base + limit)
  std::uint32_t bps = 0, spc = 0;
  std::uint64_t fat_off = 0, fat_bytes = 0, root_off = 0, root_bytes = 0, data_off = 0;
  std::uint32_t clusters = 0, root_cluster = 0;
  int bits = 0;

  bool read(std::uint64_t rel, std::span<std::byte> dst) const {
    if (!range_inside(rel, dst.size(), limit)) return false;
    const auto at = vdisk::detail::checked_add(base, rel);
    return at && (*device)(*at, dst);
  }

  // The next cluster, or 0 at the end of the chain or on any error.
  std::uint32_t next(std::uint32_t c) const {
    std::array<std::byte, 4> b{};
    if (bits == 12) {
      const std::uint64_t off = c + c / 2;
      if (off + 2 > fat_bytes || !read(fat_off + off, std::span(b).first(2))) return 0;
      const std::uint32_t v = load_le16(b);
      const std::uint32_t n = (c & 1) ? v >> 4 : v & 0xFFF;
      return n >= 2 && n < 0xFF8 ? n : 0;
    }
    if (bits == 16) {
      if (std::uint64_t{c} * 2 + 2 > fat_bytes ||
          !read(fat_off + std::uint64_t{c} * 2, std::span(b).first(2)))
        return 0;
      const std::uint32_t n = load_le16(b);
      return n >= 2 && n < 0xFFF8 ? n : 0;
    }
    if (std::uint64_t{c} * 4 + 4 > fat_bytes || !read(fat_off + std::uint64_t{c} * 4, b)) return 0;
    const std::uint32_t n = load_le32(b) & 0x0FFFFFFF;
    return n >= 2 && n < 0x0FFFFFF8 ? n : 0;
  }

  // The bytes of a directory given by its first cluster (0 = the FAT12/16 root region).
  std::vector<std::byte> directory(std::uint32_t first) const {
    std::vector<std::byte> out;
    if (first == 0 && bits != 32) {
      out.resize(static_cast<std::size_t>(std::min(root_bytes, kMaxDirBytes)));
      if (!read(root_off, out)) out.clear();
      return out;
    }
    const std::uint64_t csize = std::uint64_t{bps} * spc;
    for (std::uint32_t c = first; c >= 2 && c < clusters + 2;) {
      if (out.size() + csize > kMaxDirBytes) break;  // also ends cluster-chain loops
      const std::size_t at = out.size();
      out.resize(at + static_cast<std::size_t>(csize));
      if (!read(data_off + (c - 2) * csize, std::span(out).subspan(at))) {
        out.resize(at);
        break;
      }
      c = next(c);
    }
    return out;
  }
};

std::string short_name(std::span<const std::byte> e) {
  auto part = [&](std::size_t from, std::size_t n) {
    std::string s(reinterpret_cast<const char*>(e.data()) + from, n);
    while (!s.empty() && s.back() == ' ') s.pop_back();
    return s;
  };
  std::string name = part(0, 8), ext = part(8, 3);
  if (!name.empty() && name[0] == '\x05') name[0] = '\xE5';
  return ext.empty() ? name : name + "." + ext;
}

bool iequal(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::toupper(static_cast<unsigned char>(x)) ==
                  std::toupper(static_cast<unsigned char>(y));
         });
}

struct Found {
  bool ok = false, dir = false;
  std::uint32_t cluster = 0;
  std::uint32_t size = 0;
};

Found find(const Fat& fat, std::uint32_t dir_cluster, std::string_view name) {
  const auto bytes = fat.directory(dir_cluster);
  for (std::size_t p = 0; p + 32 <= bytes.size(); p += 32) {
    const auto e = std::span(bytes).subspan(p, 32);
    if (e[0] == std::byte{0}) break;
    if (e[0] == std::byte{0xE5}) continue;
    const auto attr = static_cast<std::uint8_t>(e[11]);
    if ((attr & 0x0F) == 0x0F || (attr & 0x08)) continue;  // long-name part, volume label
    if (!iequal(short_name(e), name)) continue;
    Found f;
    f.ok = true;
    f.dir = (attr & 0x10) != 0;
    f.cluster = (fat.bits == 32 ? std::uint32_t{load_le16(e.subspan(20))} << 16 : 0) |
                load_le16(e.subspan(26));
    f.size = load_le32(e.subspan(28));
    return f;
  }
  return {};
}

// Reads the boot sector of the FAT at [offset, offset + length); false when it is no FAT.
bool open_fat(const ReadAt& read, std::uint64_t offset, std::uint64_t length, Fat& fat) {
  fat.device = &read;
  fat.base = offset;
  fat.limit = length;
  std::array<std::byte, 512> bs{};
  if (!fat.read(0, bs)) return false;
  fat.bps = load_le16(std::span(bs).subspan(11));
  fat.spc = static_cast<std::uint8_t>(bs[13]);
  const std::uint32_t reserved = load_le16(std::span(bs).subspan(14));
  const std::uint32_t nfats = static_cast<std::uint8_t>(bs[16]);
  const std::uint32_t root_entries = load_le16(std::span(bs).subspan(17));
  std::uint64_t total = load_le16(std::span(bs).subspan(19));
  if (total == 0) total = load_le32(std::span(bs).subspan(32));
  std::uint64_t fatsz = load_le16(std::span(bs).subspan(22));
  if (fatsz == 0) fatsz = load_le32(std::span(bs).subspan(36));
  const bool bps_ok = fat.bps == 512 || fat.bps == 1024 || fat.bps == 2048 || fat.bps == 4096;
  if (!bps_ok || fat.spc == 0 || (fat.spc & (fat.spc - 1)) != 0 || reserved == 0 || nfats == 0 ||
      fatsz == 0)
    return false;
  const std::uint64_t root_sectors = (std::uint64_t{root_entries} * 32 + fat.bps - 1) / fat.bps;
  const std::uint64_t first_data = reserved + nfats * fatsz + root_sectors;
  if (total <= first_data) return false;
  const std::uint64_t clusters = (total - first_data) / fat.spc;
  fat.bits = clusters < 4085 ? 12 : clusters < 65525 ? 16 : 32;
  fat.clusters = static_cast<std::uint32_t>(std::min<std::uint64_t>(clusters, 0x0FFFFFF0));
  fat.fat_off = std::uint64_t{reserved} * fat.bps;
  fat.fat_bytes = fatsz * fat.bps;
  fat.root_off = (reserved + nfats * fatsz) * fat.bps;
  fat.root_bytes = root_sectors * fat.bps;
  fat.data_off = first_data * fat.bps;
  fat.root_cluster = fat.bits == 32 ? load_le32(std::span(bs).subspan(44)) : 0;
  return true;
}

// The \EFI\BOOT directory, or !ok.
Found efi_boot_dir(const Fat& fat) {
  const Found efi = find(fat, fat.root_cluster, "EFI");
  if (!efi.ok || !efi.dir) return {};
  const Found boot = find(fat, efi.cluster, "BOOT");
  if (!boot.ok || !boot.dir) return {};
  return boot;
}

}  // namespace

bool looks_like_fat(const ReadAt& read, std::uint64_t offset) {
  std::array<std::byte, 512> s{};
  if (!read(offset, s)) return false;
  if (s[510] != std::byte{0x55} || s[511] != std::byte{0xAA}) return false;
  const std::string_view a(reinterpret_cast<const char*>(s.data()) + 54, 3);
  const std::string_view b(reinterpret_cast<const char*>(s.data()) + 82, 3);
  return a == "FAT" || b == "FAT";
}

std::string find_efi_loader(const ReadAt& read, std::uint64_t offset, std::uint64_t length) {
  Fat fat;
  if (!open_fat(read, offset, length, fat)) return {};
  const Found boot = efi_boot_dir(fat);
  if (!boot.ok) return {};
  for (std::string_view loader : kDefaultLoaders) {
    const Found l = find(fat, boot.cluster, loader);
    if (l.ok && !l.dir && l.size > 0) return "\\EFI\\BOOT\\" + std::string(loader);
  }
  return {};
}

std::vector<std::byte> read_efi_loader(const ReadAt& read, std::uint64_t offset,
                                       std::uint64_t length, std::string_view loader,
                                       std::uint64_t max_bytes) {
  std::string_view name = loader;
  if (!name.starts_with("\\EFI\\BOOT\\")) return {};
  name.remove_prefix(10);
  Fat fat;
  if (!open_fat(read, offset, length, fat)) return {};
  const Found boot = efi_boot_dir(fat);
  if (!boot.ok) return {};
  const Found l = find(fat, boot.cluster, name);
  if (!l.ok || l.dir || l.size == 0 || l.size > max_bytes) return {};
  std::vector<std::byte> out;
  const std::uint64_t csize = std::uint64_t{fat.bps} * fat.spc;
  for (std::uint32_t c = l.cluster; out.size() < l.size;) {
    if (c < 2 || c >= fat.clusters + 2) return {};  // the chain ends before the file does
    const std::size_t at = out.size();
    const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(csize, l.size - at));
    out.resize(at + n);
    if (!fat.read(fat.data_off + (c - 2) * csize, std::span(out).subspan(at))) return {};
    c = fat.next(c);  // 0 at the end or on an error; a loop ends at l.size
  }
  return out;
}

}  // namespace vdisk::boot
