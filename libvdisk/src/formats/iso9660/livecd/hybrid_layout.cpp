// The bytes a hybrid disk replaces (see hybrid.h; docs/livecd.md §2): sector 0 (MBR
// boot code, disk signature, one partition entry, 55 AA), for UEFI a GPT (UEFI 2.10 §5.3: header
// at LBA 1, 128 entries of 128 bytes at LBAs 2..33, their backup at the disk's last 33 LBAs), and
// for GRUB the diskboot blocklist start inside the boot image (xorrisofs --grub2-boot-info).
#include <algorithm>
#include <cstring>
#include <string_view>

#include <fmt/format.h>

#include "gpt/gpt_codec.h"
#include "formats/iso9660/livecd/boot_image.h"
#include "formats/iso9660/livecd/hybrid.h"
#include "base/checked.h"
#include "base/endian.h"

namespace vdisk::livecd {
namespace {

using vdisk::detail::store_le32;
using vdisk::detail::store_le64;

constexpr std::uint64_t kSector = 512;
constexpr std::uint64_t kBlock = 2048;
constexpr std::size_t kIsolinuxCode = 432;  // isohdpfx.bin's code; the loader LBA follows
constexpr std::size_t kGrubCode = 440;      // boot_hybrid.img up to the disk signature
constexpr std::size_t kBootLbaAt = 432;     // u64: isolinux LBA / GRUB kernel_sector (0x1B0)
constexpr std::size_t kDiskSignatureAt = 440;
constexpr std::size_t kPartitionTableAt = 446;
constexpr std::uint32_t kEntries = 128, kEntrySize = 128;
constexpr std::uint64_t kArraySectors = kEntries * kEntrySize / kSector;  // 32
constexpr std::uint8_t kTypeProtective = 0xEE;
// isohybrid's partition type for the whole-image entry (syslinux utils/isohybrid.c default).
constexpr std::uint8_t kTypeIsohybrid = 0x17;
// C12A7328-F81F-11D2-BA4B-00A0C93EC93B in GPT byte order (UEFI 2.10 §5.3.3).
constexpr std::array<std::uint8_t, 16> kEspType = {0x28, 0x73, 0x2A, 0xC1, 0x1F, 0xF8, 0xD2, 0x11,
                                                   0xBA, 0x4B, 0x00, 0xA0, 0xC9, 0x3E, 0xC9, 0x3B};
constexpr std::string_view kEspName = "EFI System Partition";

// CHS of `lba` in isohybrid's geometry (64 heads, 32 sectors), clamped to the last cylinder;
// stored as head, sector | cylinder bits 8-9 << 6, cylinder bits 0-7.
void store_chs(std::span<std::byte> b, std::uint64_t lba) {
  std::uint64_t c = lba / (64 * 32), h = (lba / 32) % 64, s = lba % 32 + 1;
  if (c > 1023) c = 1023, h = 63, s = 32;
  b[0] = static_cast<std::byte>(h);
  b[1] = static_cast<std::byte>(s | ((c >> 8) & 3) << 6);
  b[2] = static_cast<std::byte>(c & 0xFF);
}

void put_guid(std::span<std::byte> b, const std::array<std::uint8_t, 16>& g) {
  std::memcpy(b.data(), g.data(), g.size());
}

std::vector<std::byte> sector0(const HybridPlan& p, const BootCode& code, const HybridOptions& o) {
  std::vector<std::byte> s(kSector);
  const std::span<std::byte> b(s);
  if (p.bios_loader == BiosLoader::isolinux) {
    std::copy_n(code.isohdpfx.begin(), kIsolinuxCode, s.begin());
    store_le64(b.subspan(kBootLbaAt), std::uint64_t{p.bios_rba} * 4);
  } else if (p.bios_loader == BiosLoader::grub) {
    std::copy_n(code.grub_hybrid.begin(), kGrubCode, s.begin());
    store_le64(b.subspan(kBootLbaAt), std::uint64_t{p.bios_rba} * 4 + 4);
  }
  store_le32(b.subspan(kDiskSignatureAt), p.disk_signature);
  const std::uint64_t lbas = p.disk_size / kSector;
  auto e = b.subspan(kPartitionTableAt, 16);
  if (p.write_gpt) {
    e[0] = std::byte{o.active.value_or(false) ? std::uint8_t{0x80} : std::uint8_t{0}};
    e[1] = std::byte{0x00}, e[2] = std::byte{0x02}, e[3] = std::byte{0x00};
    e[4] = std::byte{kTypeProtective};
    e[5] = e[6] = e[7] = std::byte{0xFF};
    store_le32(e.subspan(8), 1);
    store_le32(e.subspan(12),
               static_cast<std::uint32_t>(std::min<std::uint64_t>(lbas - 1, 0xFFFFFFFF)));
  } else {
    e[0] = std::byte{o.active.value_or(true) ? std::uint8_t{0x80} : std::uint8_t{0}};
    store_chs(e.subspan(1, 3), 0);
    e[4] = std::byte{kTypeIsohybrid};
    store_chs(e.subspan(5, 3), lbas - 1);
    store_le32(e.subspan(8), 0);
    store_le32(e.subspan(12),
               static_cast<std::uint32_t>(std::min<std::uint64_t>(lbas, 0xFFFFFFFF)));
  }
  s[510] = std::byte{0x55};
  s[511] = std::byte{0xAA};
  return s;
}

// The entry array: one ESP entry over the El Torito EFI image.
std::vector<std::byte> entry_array(const HybridPlan& p) {
  std::vector<std::byte> a(std::size_t{kEntries} * kEntrySize);
  const std::span<std::byte> e(a.data(), kEntrySize);
  std::memcpy(e.data(), kEspType.data(), kEspType.size());
  put_guid(e.subspan(16), p.esp_guid);
  const std::uint64_t first = std::uint64_t{p.efi.rba} * (kBlock / kSector);
  store_le64(e.subspan(32), first);
  store_le64(e.subspan(40), first + vdisk::detail::div_ceil(p.efi.bytes, kSector) - 1);
  store_le64(e.subspan(48), 0);
  for (std::size_t i = 0; i < kEspName.size(); ++i)
    vdisk::detail::store_le16(e.subspan(56 + 2 * i), static_cast<std::uint16_t>(kEspName[i]));
  return a;
}

}  // namespace

Result<std::vector<Patch>> hybrid_patches(const HybridPlan& p, const BootCode& code,
                                          const HybridOptions& o) {
  if (p.action != HybridAction::hybridize)
    return invalid_argument(fmt::format("livecd: the plan is '{}', not 'hybridize': {}",
                                        hybrid_action_name(p.action), p.summary));
  if (p.disk_size % kHybridAlign != 0 || p.disk_size < p.iso_size ||
      p.disk_size < kSystemAreaBytes || (p.write_gpt && p.disk_size - p.iso_size < 33 * kSector))
    return invalid_argument(fmt::format("livecd: plan's disk size {} does not fit ISO size {}",
                                        p.disk_size, p.iso_size));
  if (p.bios_loader == BiosLoader::isolinux && code.isohdpfx.size() < kIsolinuxCode)
    return invalid_argument(fmt::format("livecd: isohdpfx.bin code of {} bytes, expected {}",
                                        code.isohdpfx.size(), kIsolinuxCode));
  if (p.bios_loader == BiosLoader::grub && code.grub_hybrid.size() < kGrubCode)
    return invalid_argument(
        fmt::format("livecd: boot_hybrid.img of {} bytes, expected 512", code.grub_hybrid.size()));
  const std::uint64_t grub_at = std::uint64_t{p.bios_rba} * kBlock + kGrubBlocklistOffset;
  if (p.bios_loader == BiosLoader::grub &&
      (p.bios_rba < 17 || !vdisk::detail::range_inside(grub_at, 8, p.iso_size)))
    return invalid_argument(fmt::format("livecd: GRUB image block {} outside the ISO", p.bios_rba));
  if (p.write_gpt) {
    const std::uint64_t first = std::uint64_t{p.efi.rba} * (kBlock / kSector);
    if (p.efi.rba < 17 || p.efi.bytes == 0 ||
        !vdisk::detail::range_inside(std::uint64_t{p.efi.rba} * kBlock, p.efi.bytes, p.iso_size) ||
        first < 2 + kArraySectors)
      return invalid_argument(fmt::format(
          "livecd: EFI image ({} bytes at block {}) outside the ISO", p.efi.bytes, p.efi.rba));
  }

  std::vector<Patch> out;
  out.push_back({0, sector0(p, code, o)});
  const std::uint64_t lbas = p.disk_size / kSector;
  std::vector<std::byte> array;
  gpt::Header h;
  if (p.write_gpt) {
    array = entry_array(p);
    h.current_lba = 1;
    h.alternate_lba = lbas - 1;
    h.first_usable_lba = 2 + kArraySectors;
    h.last_usable_lba = lbas - 2 - kArraySectors;
    h.disk_guid = p.disk_guid;
    h.entries_lba = 2;
    h.entry_count = kEntries;
    h.entry_size = kEntrySize;
    h.entries_crc = gpt::crc32(array);
    Patch primary{kSector, std::vector<std::byte>((1 + kArraySectors) * kSector)};
    gpt::encode_header(h, std::span(primary.bytes).first(kSector));
    std::copy(array.begin(), array.end(), primary.bytes.begin() + kSector);
    out.push_back(std::move(primary));
  }
  if (p.bios_loader == BiosLoader::grub) {
    Patch g{grub_at, std::vector<std::byte>(8)};
    store_le64(g.bytes, std::uint64_t{p.bios_rba} * 4 + 5);
    out.push_back(std::move(g));
  }
  if (p.write_gpt) {
    gpt::Header b = h;
    b.current_lba = lbas - 1;
    b.alternate_lba = 1;
    b.entries_lba = lbas - 1 - kArraySectors;
    Patch backup{b.entries_lba * kSector, std::vector<std::byte>((1 + kArraySectors) * kSector)};
    std::copy(array.begin(), array.end(), backup.bytes.begin());
    gpt::encode_header(b, std::span(backup.bytes).subspan(kArraySectors * kSector, kSector));
    out.push_back(std::move(backup));
  }
  return out;
}

}  // namespace vdisk::livecd
