// The GRUB repack's generated sectors (see repack_frame.h and repack.h).
#include "formats/iso9660/livecd/repack_frame.h"

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

#include "checksum/sha256.h"
#include "gpt/gpt_codec.h"
#include "formats/iso9660/boot_records.h"
#include "formats/iso9660/livecd/fat_writer.h"
#include "formats/iso9660/livecd/piece_image.h"
#include "base/checked.h"
#include "base/endian.h"

namespace vdisk::livecd::repack_detail {
namespace {

using detail::load_le16;
using detail::load_le32;
using detail::load_le64;
using detail::store_le32;
using detail::store_le64;
using Guid = std::array<std::uint8_t, 16>;

constexpr std::uint64_t kMiB = detail::kMiB;
constexpr std::uint64_t kIsoBlock = 2048;
constexpr std::uint64_t kPvdOffset = 16 * kIsoBlock;
constexpr std::uint32_t kEntries = 128;
constexpr std::uint32_t kEntrySize = 128;
constexpr std::uint64_t kArrayLbas = kEntries * kEntrySize / kRepackLba;  // 32
constexpr std::uint64_t kMaxEfiImage = 256 * kMiB;

// GRUB i386-pc boot.img fields (GRUB include/grub/i386/pc/boot.h).
constexpr std::size_t kBootKernelAddress = 0x5A;
constexpr std::size_t kBootKernelSector = 0x5C;
constexpr std::size_t kBootDrive = 0x64;
constexpr std::size_t kBootDriveCheck = 0x66;
constexpr std::size_t kMbrCodeBytes = 440;
// diskboot.img's first blocklist entry, at the end of the core's first sector.
constexpr std::size_t kBlocklist = 0x1F4;
constexpr std::size_t kBlocklistEntry = 12;
constexpr std::uint16_t kBlocklistSegment = 0x0820;

// Text GUID -> GPT storage (first three fields little-endian).
constexpr Guid guid(const char (&s)[37]) {
  auto nibble = [](char c) -> std::uint8_t {
    return static_cast<std::uint8_t>(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
  };
  std::uint8_t b[16] = {};
  for (int i = 0, k = 0; i < 36; ++i) {
    if (s[i] == '-') continue;
    b[k / 2] = static_cast<std::uint8_t>(b[k / 2] | (nibble(s[i]) << (k % 2 == 0 ? 4 : 0)));
    ++k;
  }
  return {b[3], b[2], b[1],  b[0],  b[5],  b[4],  b[7],  b[6],
          b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]};
}
constexpr Guid kBiosBootType = guid("21686148-6449-6E6F-744E-656564454649");
constexpr Guid kEspType = guid("C12A7328-F81F-11D2-BA4B-00A0C93EC93B");
constexpr Guid kLinuxDataType = guid("0FC63DAF-8483-4772-8E79-3D69D8477DE4");

std::string hex_bytes(std::span<const std::byte> b) {
  std::string out;
  for (std::byte x : b) out += fmt::format("{:02x}", static_cast<unsigned>(x));
  return out;
}

Status check_boot_image(std::span<const std::byte> b) {
  auto refuse = [](std::string detail) {
    return invalid_argument("grub boot.img: " + detail +
                            " (expected GRUB's i386-pc boot.img, as grub-pc-bin ships it)");
  };
  if (b.size() != 512) return refuse(fmt::format("size {} bytes, expected 512", b.size()));
  const auto u8 = [&](std::size_t i) { return static_cast<unsigned>(b[i]); };
  if (u8(0) != 0xEB || u8(1) != 0x63 || u8(2) != 0x90) {
    return refuse(fmt::format("bytes 0..2 are {}, expected eb6390", hex_bytes(b.first(3))));
  }
  if (load_le16(b.subspan(kBootKernelAddress)) != 0x8000) {
    return refuse(fmt::format("kernel address at 0x5a is 0x{:04x}, expected 0x8000",
                              load_le16(b.subspan(kBootKernelAddress))));
  }
  if (load_le64(b.subspan(kBootKernelSector)) != 1) {
    return refuse(fmt::format("kernel_sector at 0x5c is {}, expected 1",
                              load_le64(b.subspan(kBootKernelSector))));
  }
  if (u8(kBootDrive) != 0xFF) {
    return refuse(fmt::format("boot drive at 0x64 is 0x{:02x}, expected 0xff", u8(kBootDrive)));
  }
  const unsigned check = u8(kBootDriveCheck) << 8 | u8(kBootDriveCheck + 1);
  if (check != 0xEB05 && check != 0x9090) {
    return refuse(fmt::format("drive check at 0x66 is {:04x}, expected eb05 or 9090", check));
  }
  if (u8(510) != 0x55 || u8(511) != 0xAA) return refuse("no 55 aa signature at 510");
  return ok_status();
}

// Returns the core image's sector count.
Result<std::uint64_t> check_core_image(std::span<const std::byte> b) {
  auto refuse = [](std::string detail) {
    return invalid_argument("grub core.img: " + detail +
                            " (expected a core image from grub-mkimage -O i386-pc)");
  };
  if (b.size() < 1024)
    return refuse(fmt::format("size {} bytes, at least 1024 expected", b.size()));
  if (b.size() > kBiosBootLbas * kRepackLba) {
    return refuse(fmt::format("size {} bytes exceeds the {}-byte BIOS boot partition", b.size(),
                              kBiosBootLbas * kRepackLba));
  }
  const std::uint64_t sectors = detail::div_ceil(b.size(), kRepackLba);
  const auto list = b.subspan(kBlocklist, kBlocklistEntry);
  const std::uint64_t start = load_le64(list);
  const std::uint16_t len = load_le16(list.subspan(8));
  const std::uint16_t seg = load_le16(list.subspan(10));
  if (start != 2 && start != kCoreLba + 1) {
    return refuse(fmt::format("diskboot blocklist start at 0x1f4 is {}, expected 2 or {}", start,
                              kCoreLba + 1));
  }
  if (len != sectors - 1) {
    return refuse(fmt::format(
        "diskboot blocklist length at 0x1fc is {}, expected {} for {} bytes ({} sectors)", len,
        sectors - 1, b.size(), sectors));
  }
  if (seg != kBlocklistSegment) {
    return refuse(
        fmt::format("diskboot blocklist segment at 0x1fe is 0x{:04x}, expected 0x0820", seg));
  }
  const auto below = b.subspan(kBlocklist - kBlocklistEntry, kBlocklistEntry);
  if (std::any_of(below.begin(), below.end(), [](std::byte x) { return x != std::byte{0}; })) {
    return refuse(fmt::format("the blocklist entry at 0x1e8 is not empty ({})", hex_bytes(below)));
  }
  return sectors;
}

Status check_efi_image(std::span<const std::byte> b) {
  auto refuse = [](std::string detail) {
    return invalid_argument("grub x86_64-efi image: " + detail +
                            " (expected an x86-64 PE image from grub-mkimage -O x86_64-efi)");
  };
  if (b.size() < 64) return refuse(fmt::format("size {} bytes is too small", b.size()));
  if (b.size() > kMaxEfiImage) {
    return refuse(fmt::format("size {} bytes exceeds {}", b.size(), kMaxEfiImage));
  }
  if (b[0] != std::byte{'M'} || b[1] != std::byte{'Z'}) return refuse("no MZ signature");
  const std::uint32_t pe = load_le32(b.subspan(0x3C));
  if (!detail::range_inside(pe, 6, b.size())) {
    return refuse(fmt::format("PE header offset {} is past the end", pe));
  }
  const auto h = b.subspan(pe);
  if (h[0] != std::byte{'P'} || h[1] != std::byte{'E'} || h[2] != std::byte{0} ||
      h[3] != std::byte{0}) {
    return refuse(fmt::format("no PE signature at offset {}", pe));
  }
  if (load_le16(h.subspan(4)) != 0x8664) {
    return refuse(
        fmt::format("machine 0x{:04x}, expected 0x8664 (x86-64)", load_le16(h.subspan(4))));
  }
  return ok_status();
}

// ISO 9660 §8.4.26.1 dates: "YYYYMMDDHHMMSScc" and a signed offset from GMT in 15-minute units.
std::optional<std::int64_t> pvd_time(std::span<const std::byte> d) {
  int v[7] = {};
  const int widths[7] = {4, 2, 2, 2, 2, 2, 2};
  std::size_t at = 0;
  for (int f = 0; f < 7; ++f) {
    for (int k = 0; k < widths[f]; ++k, ++at) {
      const auto c = static_cast<int>(d[at]);
      if (c < '0' || c > '9') return std::nullopt;
      v[f] = v[f] * 10 + (c - '0');
    }
  }
  const int year = v[0], month = v[1], day = v[2];
  if (month < 1 || month > 12 || day < 1 || day > 31 || v[3] > 23 || v[4] > 59 || v[5] > 59) {
    return std::nullopt;
  }
  // Days from the civil date (proleptic Gregorian).
  const int y = month <= 2 ? year - 1 : year;
  const int era = y / 400;
  const int yoe = y - era * 400;
  const int mp = month > 2 ? month - 3 : month + 9;
  const int doy = (153 * mp + 2) / 5 + day - 1;
  const int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  const std::int64_t days = std::int64_t{era} * 146097 + doe - 719468;
  const auto tz = static_cast<std::int8_t>(d[16]);
  return days * 86400 + v[3] * 3600 + v[4] * 60 + v[5] - std::int64_t{tz} * 15 * 60;
}

// SHA-256 of the seed and a role tag.
std::array<std::uint8_t, 32> derive(const std::array<std::uint8_t, 32>& seed, char role) {
  checksum::Sha256 h;
  h.update(std::as_bytes(std::span(seed)));
  const std::byte tag[1] = {static_cast<std::byte>(role)};
  h.update(tag);
  return h.finish();
}

// An RFC 9562 version 8 (vendor-specific) GUID in GPT storage order from a digest.
Guid derived_guid(const std::array<std::uint8_t, 32>& seed, char role) {
  const auto d = derive(seed, role);
  Guid g;
  std::copy_n(d.begin(), 16, g.begin());
  g[7] = static_cast<std::uint8_t>((g[7] & 0x0F) | 0x80);  // version: high byte of field 3
  g[8] = static_cast<std::uint8_t>((g[8] & 0x3F) | 0x80);  // variant 10
  return g;
}

void put_entry(std::span<std::byte> e, const Guid& type, const Guid& unique, std::uint64_t first,
               std::uint64_t last, std::string_view name) {
  std::memcpy(e.data(), type.data(), 16);
  std::memcpy(e.data() + 16, unique.data(), 16);
  store_le64(e.subspan(32), first);
  store_le64(e.subspan(40), last);
  for (std::size_t i = 0; i < name.size() && i < 36; ++i) {
    e[56 + 2 * i] = static_cast<std::byte>(name[i]);  // ASCII names: UTF-16LE low bytes
  }
}

}  // namespace

Result<IsoFacts> iso_facts(std::span<const std::byte> p, std::uint64_t iso_size) {
  // The ISO: whole 2048-byte blocks and a primary volume descriptor.
  IsoFacts facts;
  facts.size = iso_size;
  if (iso_size % kIsoBlock != 0) {
    return corrupt(fmt::format(
        "iso9660: image size {} is not a multiple of 2048 ({} bytes past the last block)", iso_size,
        iso_size % kIsoBlock));
  }
  if (iso_size < kPvdOffset + kIsoBlock || p.size() < kIsoBlock) {
    return corrupt(fmt::format(
        "iso9660: image of {} bytes ends before the primary volume descriptor at 32768", iso_size));
  }
  if (p[0] != std::byte{1} || std::memcmp(p.data() + 1, "CD001", 5) != 0 || p[6] != std::byte{1}) {
    return corrupt(fmt::format(
        "iso9660: primary volume descriptor at offset 32768: expected type 1 \"CD001\" version "
        "1, found {}",
        hex_bytes(p.first(7))));
  }
  const std::uint32_t blocks = load_le32(p.subspan(80));
  const std::uint16_t block_size = load_le16(p.subspan(128));
  if (block_size != kIsoBlock) {
    return corrupt(fmt::format(
        "iso9660: primary volume descriptor at offset 32768: logical block size {}, expected "
        "2048",
        block_size));
  }
  if (std::uint64_t{blocks} * kIsoBlock > iso_size) {
    return corrupt(fmt::format(
        "iso9660: primary volume descriptor at offset 32768: volume space of {} blocks ({} "
        "bytes) is larger than the {}-byte image (truncated)",
        blocks, std::uint64_t{blocks} * kIsoBlock, iso_size));
  }
  std::string& volume_id = facts.volume_id;
  volume_id.assign(reinterpret_cast<const char*>(p.data() + 40), 32);
  while (!volume_id.empty() && (volume_id.back() == ' ' || volume_id.back() == '\0')) {
    volume_id.pop_back();
  }
  for (char& c : volume_id) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u >= 0x7F) c = '_';  // d-characters are ASCII; keep the label one line
  }

  // The seed of every derived identity: the PVD and the image size.
  checksum::Sha256 h;
  const std::string_view tag = "vdisk livecd repack 1";
  h.update(std::as_bytes(std::span(tag)));
  h.update(p);
  std::byte size_le[8];
  store_le64(size_le, iso_size);
  h.update(size_le);
  facts.seed = h.finish();
  facts.created = pvd_time(p.subspan(813, 17));
  return facts;
}

namespace {

// Canonical lower-case text of a GUID stored GPT-style.
std::string guid_text(const Guid& g) {
  return iso9660::detail::guid_text(std::as_bytes(std::span<const std::uint8_t, 16>(g)));
}

// The ESP's FAT volume holding `efi_image` and `cfg`.
Result<FatImage> esp_volume(std::span<const std::byte> efi_image, std::string_view cfg,
                            const FatOptions& fat) {
  std::vector<FatEntry> files;
  files.push_back(
      {"EFI/BOOT/BOOTX64.EFI", false, std::vector<std::byte>(efi_image.begin(), efi_image.end())});
  const auto cfg_bytes = std::as_bytes(std::span(cfg));
  files.push_back(
      {"EFI/BOOT/GRUB.CFG", false, std::vector<std::byte>(cfg_bytes.begin(), cfg_bytes.end())});
  return build_fat32(std::move(files), fat);
}

FatOptions fat_options(const RepackLayout& layout, const RepackOptions& options) {
  FatOptions f;
  f.volume_serial = layout.esp_serial;
  f.label = options.esp_label;
  f.timestamp = layout.esp_timestamp;
  f.hidden_sectors = static_cast<std::uint32_t>(layout.esp_first_lba);
  f.align_bytes = kMiB;
  f.max_bytes = 1ull << 30;
  return f;
}

}  // namespace

std::string iso_partuuid(const IsoFacts& iso) { return guid_text(derived_guid(iso.seed, '3')); }

Result<Frame> make_frame(const IsoFacts& iso, const RepackImages& images,
                         const RepackOptions& options) {
  VDISK_RETURN_IF_ERROR(check_boot_image(images.boot_image));
  VDISK_ASSIGN_OR_RETURN(const std::uint64_t core_sectors, check_core_image(images.core_image));
  VDISK_RETURN_IF_ERROR(check_efi_image(images.efi_image));
  const auto& seed = iso.seed;

  Frame frame;
  frame.efi_image.assign(images.efi_image.begin(), images.efi_image.end());
  RepackLayout& layout = frame.layout;
  layout.iso_size = iso.size;
  layout.iso_volume_id = iso.volume_id;
  layout.core_sectors = core_sectors;
  layout.disk_guid = derived_guid(seed, 'D');
  const auto serial = derive(seed, 'S');
  layout.esp_serial = options.volume_serial.value_or(load_le32(std::as_bytes(std::span(serial))));
  std::int64_t stamp = 315532800;
  if (const auto& t = iso.created; t && *t >= 315532800 && *t <= 4354819198) stamp = *t;
  layout.esp_timestamp = options.timestamp.value_or(stamp);

  layout.bios_boot_first_lba = kCoreLba;
  layout.bios_boot_last_lba = kCoreLba + kBiosBootLbas - 1;
  layout.iso_first_lba = kIsoFirstLba;
  layout.iso_last_lba = kIsoFirstLba + iso.size / kRepackLba - 1;
  // The ESP after the ISO, 1 MiB aligned; its size is the one of a volume holding the EFI image
  // and the longest grub.cfg allowed, so it is known before the boot entry is.
  const auto esp_first = detail::round_up(layout.iso_last_lba + 1, kMiB / kRepackLba);
  if (!esp_first || *esp_first > 0xFFFFFFFFu) {
    return invalid_argument(fmt::format(
        "livecd-repack: an ISO of {} bytes puts the ESP past LBA 2^32 (FAT's hidden sectors)",
        iso.size));
  }
  layout.esp_first_lba = *esp_first;
  VDISK_ASSIGN_OR_RETURN(const FatImage sizing,
                         esp_volume(images.efi_image, std::string(kMaxGrubCfgBytes, '#'),
                                    fat_options(layout, options)));
  layout.esp_last_lba = layout.esp_first_lba + sizing.image.size() / kRepackLba - 1;
  // The disk: the ESP and the backup GPT (array and header), rounded up to whole MiB.
  const auto end_lbas = detail::checked_add(layout.esp_last_lba, 1 + kArrayLbas + 1);
  const auto end_bytes = end_lbas ? detail::checked_mul(*end_lbas, kRepackLba) : std::nullopt;
  const auto disk_bytes = end_bytes ? detail::round_up(*end_bytes, kMiB) : std::nullopt;
  if (!disk_bytes) {
    return invalid_argument(
        fmt::format("livecd-repack: an ISO of {} bytes does not fit a disk", iso.size));
  }
  layout.size = *disk_bytes;
  const std::uint64_t disk_lbas = layout.size / kRepackLba;
  const std::uint64_t last_lba = disk_lbas - 1;

  // Protective MBR with GRUB's boot code (UEFI 2.10 §5.2.3).
  auto mbr = std::make_shared<std::vector<std::byte>>(kRepackLba);
  std::copy_n(images.boot_image.begin(), kMbrCodeBytes, mbr->begin());
  std::span<std::byte> m(*mbr);
  store_le64(m.subspan(kBootKernelSector), kCoreLba);
  m[kBootDriveCheck] = std::byte{0x90};
  m[kBootDriveCheck + 1] = std::byte{0x90};
  const auto e0 = m.subspan(446, 16);
  e0[0] = options.active_flag ? std::byte{0x80} : std::byte{0};
  const auto chs_start = gpt::mbr_chs(1);
  std::copy(chs_start.begin(), chs_start.end(), e0.begin() + 1);
  e0[4] = std::byte{0xEE};
  const auto chs_end = gpt::mbr_chs(last_lba);
  std::copy(chs_end.begin(), chs_end.end(), e0.begin() + 5);
  store_le32(e0.subspan(8), 1);
  store_le32(e0.subspan(12),
             static_cast<std::uint32_t>(std::min<std::uint64_t>(last_lba, 0xFFFFFFFFu)));
  m[510] = std::byte{0x55};
  m[511] = std::byte{0xAA};
  frame.head.push_back({0, mbr});

  // GPT: entries, then primary (LBA 1, array at 2) and backup (last LBA, array before it). The
  // entries keep their numbers (p2 the ESP, p3 the ISO, as the GRUB prefixes and grub.cfg name
  // them) while the ISO lies before the ESP on the disk.
  std::vector<std::byte> array(kEntries * kEntrySize);
  const std::span<std::byte> a(array);
  put_entry(a.subspan(0, kEntrySize), kBiosBootType, derived_guid(seed, '1'),
            layout.bios_boot_first_lba, layout.bios_boot_last_lba, "BIOS boot");
  put_entry(a.subspan(kEntrySize, kEntrySize), kEspType, derived_guid(seed, '2'),
            layout.esp_first_lba, layout.esp_last_lba, "EFI system");
  const Guid iso_guid = derived_guid(seed, '3');
  layout.iso_partuuid = guid_text(iso_guid);
  // p3 runs to the ESP (the ISO and zeros up to the next MiB), so every partition ends aligned.
  put_entry(a.subspan(2 * kEntrySize, kEntrySize), kLinuxDataType, iso_guid, layout.iso_first_lba,
            layout.esp_first_lba - 1, "ISO9660");
  gpt::Header hdr;
  hdr.current_lba = 1;
  hdr.alternate_lba = last_lba;
  hdr.first_usable_lba = 2 + kArrayLbas;
  hdr.last_usable_lba = last_lba - kArrayLbas - 1;
  hdr.disk_guid = layout.disk_guid;
  hdr.entries_lba = 2;
  hdr.entry_count = kEntries;
  hdr.entry_size = kEntrySize;
  hdr.entries_crc = gpt::crc32(array);
  auto primary = std::make_shared<std::vector<std::byte>>((1 + kArrayLbas) * kRepackLba);
  gpt::encode_header(hdr, std::span(*primary).first(kRepackLba));
  std::copy(array.begin(), array.end(), primary->begin() + kRepackLba);
  frame.head.push_back({kRepackLba, primary});

  // p1: the core image, its blocklist pointing at the sectors after its first.
  auto core =
      std::make_shared<std::vector<std::byte>>(images.core_image.begin(), images.core_image.end());
  store_le64(std::span(*core).subspan(kBlocklist), kCoreLba + 1);
  frame.head.push_back({kCoreLba * kRepackLba, core});

  // Backup GPT.
  hdr.current_lba = last_lba;
  hdr.alternate_lba = 1;
  hdr.entries_lba = last_lba - kArrayLbas;
  auto backup = std::make_shared<std::vector<std::byte>>((1 + kArrayLbas) * kRepackLba);
  std::copy(array.begin(), array.end(), backup->begin());
  gpt::encode_header(hdr, std::span(*backup).subspan(kArrayLbas * kRepackLba));
  frame.tail.push_back({hdr.entries_lba * kRepackLba, backup});
  return frame;
}

Result<std::vector<ImagePiece>> make_esp(Frame& frame, const BootEntry& entry,
                                         const RepackOptions& options) {
  RepackLayout& layout = frame.layout;
  VDISK_ASSIGN_OR_RETURN(layout.grub_cfg,
                         grub_config(entry, layout.iso_volume_id, kIsoPartition, options.grub));
  if (layout.grub_cfg.size() > kMaxGrubCfgBytes) {
    return invalid_argument(fmt::format(
        "livecd-repack: the grub.cfg for this entry has {} bytes, more than the {} the ESP is "
        "laid out for",
        layout.grub_cfg.size(), kMaxGrubCfgBytes));
  }
  const std::uint64_t esp_bytes = (layout.esp_last_lba - layout.esp_first_lba + 1) * kRepackLba;
  FatOptions fat = fat_options(layout, options);
  fat.min_bytes = esp_bytes;
  VDISK_ASSIGN_OR_RETURN(auto esp, esp_volume(frame.efi_image, layout.grub_cfg, fat));
  if (esp.image.size() != esp_bytes) {
    return internal_error(fmt::format("livecd-repack: the ESP came out {} bytes, laid out for {}",
                                      esp.image.size(), esp_bytes));
  }
  std::vector<ImagePiece> pieces;
  for (const auto& piece : esp.image.pieces())
    pieces.push_back({layout.esp_first_lba * kRepackLba + piece.offset, piece.bytes});
  return pieces;
}

}  // namespace vdisk::livecd::repack_detail
