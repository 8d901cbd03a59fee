// What a disk boots (boot/disk_boot.h) and what each cloud is told (boot/cloud_boot.h), on disks
// built in memory: MBR with and without boot code, GRUB's boot.img with its core image in the
// post-MBR gap or a BIOS boot partition, GPT of 512- and 4096-byte LBAs, hybrid MBR+GPT, EFI
// system partitions (GPT and MBR 0xef) with and without \EFI\BOOT\BOOTX64.EFI in FAT12/FAT16,
// and hostile tables and file systems.
#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <cstring>
#include <string>

#include <fmt/format.h>
#include "base/endian.h"

#include "boot/boot_check.h"
#include "boot/cloud_boot.h"
#include "boot/disk_boot.h"
#include "contract/machines.h"
#include "gpt/gpt_codec.h"
#include "test_support.h"

namespace vdisk {
namespace {

using detail::store_le16;
using detail::store_le32;
using detail::store_le64;
using Bytes = std::vector<std::byte>;

constexpr std::uint64_t kMiB = 1u << 20;
constexpr std::string_view kEsp = "c12a7328-f81f-11d2-ba4b-00a0c93ec93b";
constexpr std::string_view kBiosBoot = "21686148-6449-6e6f-744e-656564454649";
constexpr std::string_view kLinux = "0fc63daf-8483-4772-8e79-3d69d8477de4";

std::array<std::byte, 16> guid_bytes(std::string_view text) {
  std::string hex;
  for (char c : text)
    if (c != '-') hex += c;
  std::array<std::byte, 16> raw{};
  for (std::size_t i = 0; i < 16; ++i)
    raw[i] = static_cast<std::byte>(std::stoi(hex.substr(2 * i, 2), nullptr, 16));
  // Mixed endian: the first three fields little-endian.
  std::array<std::byte, 16> g = raw;
  std::reverse(g.begin(), g.begin() + 4);
  std::reverse(g.begin() + 4, g.begin() + 6);
  std::reverse(g.begin() + 6, g.begin() + 8);
  return g;
}

void put(Bytes& d, std::size_t at, std::string_view s) {
  std::memcpy(d.data() + at, s.data(), s.size());
}

void mbr_entry(Bytes& d, int i, std::uint8_t type, std::uint32_t start, std::uint32_t sectors,
               bool active = false) {
  const std::size_t e = 446 + 16 * static_cast<std::size_t>(i);
  d[e] = active ? std::byte{0x80} : std::byte{0};
  d[e + 4] = std::byte{type};
  store_le32(std::span(d).subspan(e + 8), start);
  store_le32(std::span(d).subspan(e + 12), sectors);
  d[510] = std::byte{0x55};
  d[511] = std::byte{0xAA};
}

// GRUB's boot.img as far as the reader looks at it: code bytes, its messages, and the core
// image's sector at 0x5C; the core image's first sector (diskboot.img) says "loading".
void grub_boot_img(Bytes& d, std::uint64_t core_lba, bool write_core = true) {
  d[0] = std::byte{0xEB};
  d[1] = std::byte{0x63};
  store_le64(std::span(d).subspan(0x5C), core_lba);
  put(d, 0x180, std::string_view("GRUB \0Geom\0Hard Disk\0Read\0 Error\r\n", 34));
  d[510] = std::byte{0x55};
  d[511] = std::byte{0xAA};
  if (write_core) {
    d[core_lba * 512] = std::byte{0x52};
    put(d, core_lba * 512 + 0x170, std::string_view("loading\0Geom\0", 13));
  }
}

struct Part {
  std::uint64_t first, last;
  std::string_view type;
};

// A GPT (primary and backup) with full type GUIDs, and a protective MBR unless `protective` is
// false.
void gpt(Bytes& d, std::uint64_t lba, const std::vector<Part>& parts, bool protective = true) {
  const std::uint64_t lbas = d.size() / lba;
  gpt::Header h;
  const std::uint64_t sectors = h.array_sectors(lba);
  h.alternate_lba = lbas - 1;
  h.entries_lba = 2;
  h.first_usable_lba = 2 + sectors;
  h.last_usable_lba = lbas - 2 - sectors;
  Bytes array(static_cast<std::size_t>(h.array_bytes()));
  for (std::size_t i = 0; i < parts.size(); ++i) {
    auto e = std::span(array).subspan(i * 128, 128);
    const auto g = guid_bytes(parts[i].type);
    std::copy(g.begin(), g.end(), e.begin());
    e[16] = static_cast<std::byte>(i + 1);
    store_le64(e.subspan(32), parts[i].first);
    store_le64(e.subspan(40), parts[i].last);
  }
  h.entries_crc = gpt::crc32(array);
  std::copy(array.begin(), array.end(), d.begin() + static_cast<std::ptrdiff_t>(2 * lba));
  gpt::encode_header(h, std::span(d).subspan(lba, lba));
  gpt::Header b = h;
  b.current_lba = lbas - 1;
  b.alternate_lba = 1;
  b.entries_lba = lbas - 1 - sectors;
  std::copy(array.begin(), array.end(),
            d.begin() + static_cast<std::ptrdiff_t>(b.entries_lba * lba));
  gpt::encode_header(b, std::span(d).subspan((lbas - 1) * lba, lba));
  if (protective)
    mbr_entry(d, 0, 0xEE, 1,
              static_cast<std::uint32_t>(std::min<std::uint64_t>(d.size() / 512 - 1, 0xFFFFFFFF)));
}

void dir_entry(std::span<std::byte> e, std::string_view name83, std::uint8_t attr,
               std::uint16_t cluster, std::uint32_t size) {
  std::fill(e.begin(), e.begin() + 11, std::byte{' '});
  std::memcpy(e.data(), name83.data(), name83.size());
  e[11] = std::byte{attr};
  store_le16(e.subspan(26), cluster);
  store_le32(e.subspan(28), size);
}

void fat_set(std::span<std::byte> fat, int bits, std::uint32_t c, std::uint32_t v) {
  if (bits == 16) {
    store_le16(fat.subspan(c * 2), static_cast<std::uint16_t>(v));
    return;
  }
  const std::size_t off = c + c / 2;
  std::uint16_t w = static_cast<std::uint16_t>(static_cast<std::uint8_t>(fat[off]) |
                                               (static_cast<std::uint8_t>(fat[off + 1]) << 8));
  if (c & 1)
    w = static_cast<std::uint16_t>((w & 0x000F) | (v << 4));
  else
    w = static_cast<std::uint16_t>((w & 0xF000) | (v & 0xFFF));
  store_le16(fat.subspan(off), w);
}

struct FatSpec {
  std::uint32_t sectors = 8192;        // 4 MiB: FAT16 (8151 clusters); 2048: FAT12
  std::string loader = "BOOTX64 EFI";  // "" = none
  bool loop_boot_dir = false;          // \EFI\BOOT's cluster chain points at itself
  std::uint16_t bytes_per_sector = 512;
};

// A FAT12/16 volume written at byte `at` of `d`: \EFI (cluster 2), \EFI\BOOT (cluster 3) and the
// loader (cluster 4) when named.
void fat(Bytes& d, std::uint64_t at, const FatSpec& s) {
  auto v = std::span(d).subspan(at, std::uint64_t{s.sectors} * 512);
  constexpr std::uint32_t kReserved = 1, kRootEntries = 512, kFatSectors = 32;
  v[0] = std::byte{0xEB};
  v[1] = std::byte{0x3C};
  v[2] = std::byte{0x90};
  store_le16(v.subspan(11), s.bytes_per_sector);
  v[13] = std::byte{1};
  store_le16(v.subspan(14), kReserved);
  v[16] = std::byte{1};
  store_le16(v.subspan(17), kRootEntries);
  store_le16(v.subspan(19), static_cast<std::uint16_t>(s.sectors));
  v[21] = std::byte{0xF8};
  store_le16(v.subspan(22), kFatSectors);
  const std::uint32_t root_sectors = kRootEntries * 32 / 512;
  const std::uint32_t data = kReserved + kFatSectors + root_sectors;
  const std::uint32_t clusters = s.sectors - data;
  const int bits = clusters < 4085 ? 12 : 16;
  std::memcpy(v.data() + 54, bits == 12 ? "FAT12   " : "FAT16   ", 8);
  v[510] = std::byte{0x55};
  v[511] = std::byte{0xAA};
  auto fat_area = v.subspan(kReserved * 512, kFatSectors * 512);
  const std::uint32_t eoc = bits == 12 ? 0xFFF : 0xFFFF;
  fat_set(fat_area, bits, 2, eoc);
  fat_set(fat_area, bits, 3, s.loop_boot_dir ? 3 : eoc);
  fat_set(fat_area, bits, 4, eoc);
  auto root = v.subspan((kReserved + kFatSectors) * 512, root_sectors * 512);
  dir_entry(root.subspan(0, 32), "EFI", 0x10, 2, 0);
  auto cluster = [&](std::uint32_t c) { return v.subspan((data + c - 2) * 512, 512); };
  dir_entry(cluster(2).subspan(0, 32), ".", 0x10, 2, 0);
  dir_entry(cluster(2).subspan(32, 32), "..", 0x10, 0, 0);
  dir_entry(cluster(2).subspan(64, 32), "BOOT", 0x10, 3, 0);
  dir_entry(cluster(3).subspan(0, 32), ".", 0x10, 3, 0);
  dir_entry(cluster(3).subspan(32, 32), "..", 0x10, 2, 0);
  if (!s.loader.empty()) {
    dir_entry(cluster(3).subspan(64, 32), s.loader, 0x20, 4, 100);
    put(d, at + (data + 2) * 512, "MZ");
  }
}

boot::DiskBootFacts facts_of(Bytes d) {
  test::MemorySource src(std::move(d));
  auto f = boot::read_disk_boot(src);
  REQUIRE(f.ok());
  return *f;
}

const boot::CloudBootSetting setting(const boot::DiskBootFacts& f, std::string_view cloud) {
  const detail::MachineFacts* m = detail::find_machine(cloud);
  REQUIRE(m != nullptr);
  return boot::cloud_boot_setting(f, *m);
}

TEST_CASE("disk boot: an MBR disk with GRUB in the post-MBR gap boots BIOS only") {
  Bytes d(8 * kMiB);
  mbr_entry(d, 0, 0x83, 2048, 8 * 2048 - 2048, true);
  grub_boot_img(d, 1);
  const auto f = facts_of(d);
  CHECK(f.table == boot::TableKind::mbr);
  CHECK(f.mbr_code);
  CHECK(f.boot_code == "grub");
  CHECK(f.active_partition);
  CHECK(f.grub_core_found);
  CHECK(f.grub_core_where.find("gap after the MBR") != std::string::npos);
  CHECK(f.bios);
  CHECK_FALSE(f.uefi);
  CHECK_FALSE(f.data_disk);
  CHECK(setting(f, "azure").setting == "--hyper-v-generation V1");
  CHECK(setting(f, "aws").setting == "--boot-mode legacy-bios");
  CHECK(setting(f, "gcp").boots);
  CHECK(setting(f, "gcp").setting.empty());
}

TEST_CASE("disk boot: GRUB's boot.img whose core image is missing does not boot") {
  Bytes d(8 * kMiB);
  mbr_entry(d, 0, 0x83, 2048, 4096, true);
  grub_boot_img(d, 1, /*write_core=*/false);
  const auto f = facts_of(d);
  CHECK(f.boot_code == "grub");
  CHECK_FALSE(f.grub_core_found);
  CHECK_FALSE(f.bios);
  CHECK(f.bios_reason.find("does not hold GRUB's core image") != std::string::npos);
  // A core sector past the end of the disk is read as missing, not read.
  Bytes far(8 * kMiB);
  grub_boot_img(far, 1, false);
  store_le64(std::span(far).subspan(0x5C), ~std::uint64_t{0});
  CHECK_FALSE(facts_of(far).bios);
}

TEST_CASE("disk boot: GRUB's boot_hybrid.img keeps its core sector at 0x1B0") {
  Bytes d(8 * kMiB);
  gpt(d, 512, {{2048, 4095, kLinux}});
  grub_boot_img(d, 0, /*write_core=*/false);
  store_le64(std::span(d).subspan(0x1B0), 2052);  // an El Torito image's diskboot sector
  put(d, 2052 * 512 + 0x170, std::string_view("loading\0", 8));
  const auto f = facts_of(d);
  CHECK(f.boot_code == "grub-hybrid");
  CHECK(f.grub_core_lba == 2052);
  CHECK(f.grub_core_found);
  CHECK(f.grub_core_where == "inside gpt partition 1");
  CHECK(f.bios);
  CHECK(f.bios_reason.find("boot_hybrid.img") != std::string::npos);
}

TEST_CASE("disk boot: an MBR without boot code and without an ESP is a data disk") {
  Bytes d(4 * kMiB);
  mbr_entry(d, 0, 0x83, 2048, 4096);
  const auto f = facts_of(d);
  CHECK(f.table == boot::TableKind::mbr);
  CHECK_FALSE(f.mbr_code);
  CHECK_FALSE(f.bios);
  CHECK_FALSE(f.uefi);
  CHECK(f.data_disk);
  CHECK(f.summary.starts_with("data disk"));
  CHECK(setting(f, "azure").data_disk);
  CHECK_FALSE(setting(f, "azure").boots);
  // No table at all.
  const auto empty = facts_of(Bytes(kMiB));
  CHECK(empty.table == boot::TableKind::none);
  CHECK(empty.data_disk);
  // Other boot code: BIOS yes, not verified; no active partition is noted.
  Bytes other(4 * kMiB);
  mbr_entry(other, 0, 0x83, 2048, 4096);
  other[0] = std::byte{0xFA};
  const auto o = facts_of(other);
  CHECK(o.boot_code == "other");
  CHECK(o.bios);
  CHECK(o.bios_reason.find("no partition is marked active") != std::string::npos);
}

TEST_CASE("disk boot: a GPT disk (512-byte LBAs) with an ESP holding BOOTX64.EFI boots UEFI") {
  Bytes d(16 * kMiB);
  gpt(d, 512, {{2048, 2048 + 8191, kEsp}, {10240, 20000, kLinux}});
  fat(d, 2048 * 512, {});
  const auto f = facts_of(d);
  CHECK(f.table == boot::TableKind::gpt);
  CHECK(f.gpt_valid);
  CHECK(f.gpt_lba_size == 512);
  REQUIRE(f.gpt_partitions.size() == 2);
  CHECK(f.gpt_partitions[0].type_guid == kEsp);
  CHECK(f.esp);
  CHECK(f.esp_loader == "\\EFI\\BOOT\\BOOTX64.EFI");
  CHECK(f.uefi);
  CHECK_FALSE(f.bios);
  CHECK(setting(f, "azure").setting == "--hyper-v-generation V2");
  CHECK(setting(f, "gcp").setting == "--guest-os-features=UEFI_COMPATIBLE");
  CHECK(setting(f, "aws").setting == "--boot-mode uefi");
}

TEST_CASE("disk boot: FAT12 ESP and an ESP without the default loader") {
  Bytes d(16 * kMiB);
  gpt(d, 512, {{2048, 2048 + 2047, kEsp}});
  fat(d, 2048 * 512, {.sectors = 2048});
  CHECK(facts_of(d).uefi);
  Bytes none(16 * kMiB);
  gpt(none, 512, {{2048, 2048 + 8191, kEsp}});
  fat(none, 2048 * 512, {.loader = ""});
  const auto f = facts_of(none);
  CHECK(f.esp);
  CHECK_FALSE(f.uefi);
  CHECK(f.uefi_reason.find("has no \\EFI\\BOOT\\BOOTX64.EFI") != std::string::npos);
  Bytes arm(16 * kMiB);
  gpt(arm, 512, {{2048, 2048 + 8191, kEsp}});
  fat(arm, 2048 * 512, {.loader = "BOOTAA64EFI"});
  const auto a = facts_of(arm);
  CHECK(a.esp_loader == "\\EFI\\BOOT\\BOOTAA64.EFI");
  CHECK_FALSE(a.uefi);
  // An ESP partition without a FAT file system.
  Bytes bare(16 * kMiB);
  gpt(bare, 512, {{2048, 2048 + 8191, kEsp}});
  const auto b = facts_of(bare);
  CHECK_FALSE(b.esp);
  CHECK(b.uefi_reason.find("holds no FAT file system") != std::string::npos);
}

TEST_CASE("disk boot: a GPT of 4096-byte LBAs is found at byte 4096 and boots on no cloud") {
  Bytes d(64 * kMiB);
  gpt(d, 4096, {{256, 256 + 1023, kEsp}});
  fat(d, 256 * 4096, {});
  const auto f = facts_of(d);
  CHECK(f.gpt_valid);
  CHECK(f.gpt_lba_size == 4096);
  CHECK(f.esp);
  CHECK(f.uefi);
  CHECK(f.uefi_reason.find("4096-byte LBAs") != std::string::npos);
  for (const auto& m : detail::machines()) {
    const auto s = boot::cloud_boot_setting(f, m);
    CHECK_FALSE(s.boots);
    CHECK(s.reason.find("512-byte sectors") != std::string::npos);
  }
}

TEST_CASE("disk boot: hybrid MBR+GPT with GRUB in a BIOS boot partition and an ESP boots both") {
  Bytes d(16 * kMiB);
  gpt(d, 512, {{2048, 4095, kBiosBoot}, {4096, 4096 + 8191, kEsp}});
  mbr_entry(d, 1, 0xEF, 4096, 8192);
  grub_boot_img(d, 2048);
  fat(d, 4096 * 512, {});
  const auto f = facts_of(d);
  CHECK(f.table == boot::TableKind::hybrid);
  CHECK(f.grub_core_found);
  CHECK(f.grub_core_where == "BIOS boot partition (gpt partition 1)");
  CHECK(f.bios);
  CHECK(f.uefi);
  CHECK(f.esp_where.starts_with("gpt partition 2"));
  CHECK(setting(f, "aws").setting == "--boot-mode uefi-preferred");
  CHECK(setting(f, "azure").setting == "--hyper-v-generation V2");
  CHECK(setting(f, "gcp").setting == "--guest-os-features=UEFI_COMPATIBLE");
}

TEST_CASE("disk boot: an MBR type 0xef ESP boots UEFI, but not on GCP") {
  Bytes d(16 * kMiB);
  mbr_entry(d, 0, 0xEF, 2048, 8192);
  fat(d, 2048 * 512, {});
  const auto f = facts_of(d);
  CHECK(f.table == boot::TableKind::mbr);
  CHECK(f.uefi);
  CHECK(f.esp_where.starts_with("mbr partition 1"));
  CHECK(setting(f, "azure").boots);
  CHECK(setting(f, "aws").setting == "--boot-mode uefi");
  const auto g = setting(f, "gcp");
  CHECK_FALSE(g.boots);
  CHECK(g.reason.find("GPT") != std::string::npos);
}

TEST_CASE("disk boot: hostile tables are facts, not crashes") {
  SECTION("GPT header CRC broken") {
    Bytes d(8 * kMiB);
    gpt(d, 512, {{2048, 4095, kEsp}});
    d[512 + 16] ^= std::byte{1};
    const auto f = facts_of(d);
    CHECK(f.gpt_present);
    CHECK_FALSE(f.gpt_valid);
    CHECK(f.gpt_problem.find("CRC") != std::string::npos);
    CHECK(f.uefi_reason.starts_with("the GPT is invalid"));
  }
  SECTION("GPT entry array CRC broken") {
    Bytes d(8 * kMiB);
    gpt(d, 512, {{2048, 4095, kEsp}});
    d[1024 + 32] ^= std::byte{1};
    CHECK_FALSE(facts_of(d).gpt_valid);
  }
  SECTION("GPT with a huge entry count") {
    Bytes d(8 * kMiB);
    gpt(d, 512, {{2048, 4095, kEsp}});
    auto sector = std::span(d).subspan(512, 512);
    auto h = gpt::decode_header(sector, 1, 512, d.size() / 512);
    REQUIRE(h.ok());
    gpt::Header v = *h;
    v.entry_count = 0xFFFFFFFF;
    gpt::encode_header(v, sector);
    const auto f = facts_of(d);
    CHECK_FALSE(f.gpt_valid);
    CHECK_FALSE(f.gpt_problem.empty());
  }
  SECTION("MBR ESP past the end of the disk") {
    Bytes d(4 * kMiB);
    mbr_entry(d, 0, 0xEF, 0xFFFFFF00, 0xFFFFFFFF);
    const auto f = facts_of(d);
    CHECK_FALSE(f.esp);
    CHECK(f.uefi_reason.find("outside the disk") != std::string::npos);
  }
  SECTION("a status byte that is no MBR's: sector 0 is a file system's boot sector") {
    Bytes d(4 * kMiB);
    fat(d, 0, {});
    d[446] = std::byte{0x12};
    const auto f = facts_of(d);
    CHECK_FALSE(f.mbr_table);
    CHECK(f.table == boot::TableKind::none);
    CHECK(f.mbr_partitions.empty());
  }
  SECTION("a directory cluster chain that loops ends") {
    Bytes d(16 * kMiB);
    gpt(d, 512, {{2048, 2048 + 8191, kEsp}});
    fat(d, 2048 * 512, {.loader = "", .loop_boot_dir = true});
    const auto f = facts_of(d);
    CHECK(f.esp);
    CHECK_FALSE(f.uefi);
  }
  SECTION("a FAT boot sector with a bad sector size is no FAT") {
    Bytes d(16 * kMiB);
    gpt(d, 512, {{2048, 2048 + 8191, kEsp}});
    fat(d, 2048 * 512, {.bytes_per_sector = 3});
    const auto f = facts_of(d);
    CHECK(f.esp);  // the boot sector says FAT
    CHECK(f.esp_loader.empty());
    CHECK_FALSE(f.uefi);
  }
  SECTION("disks smaller than a sector or than a GPT") {
    CHECK(facts_of(Bytes{}).data_disk);
    CHECK(facts_of(Bytes(100)).table == boot::TableKind::none);
    Bytes one(512);
    mbr_entry(one, 0, 0xEE, 1, 100);
    const auto f = facts_of(one);
    CHECK(f.table == boot::TableKind::mbr);
    CHECK_FALSE(f.gpt_present);
  }
}

TEST_CASE("disk boot: a read error is an error") {
  Bytes d(4 * kMiB);
  mbr_entry(d, 0, 0x83, 2048, 4096);
  test::MemorySource src(std::move(d));
  src.fail_read(1);
  const auto f = boot::read_disk_boot(src);
  REQUIRE_FALSE(f.ok());
  CHECK(f.status().code() == Errc::io_error);
}

TEST_CASE("disk boot: describe_disk_boot writes the documented keys") {
  Bytes d(16 * kMiB);
  gpt(d, 512, {{2048, 2048 + 8191, kEsp}});
  fat(d, 2048 * 512, {});
  const auto f = facts_of(d);
  Properties p;
  boot::describe_disk_boot(f, p);
  boot::describe_cloud_settings(boot::cloud_boot_settings(f), p);
  CHECK(p.get("partition_table") == "gpt");
  CHECK(p.get("uefi_bootable") == "true");
  CHECK(p.get("bios_bootable") == "false");
  REQUIRE(p.get_object("esp") != nullptr);
  CHECK(p.get_object("esp")->get("loader") == "\\EFI\\BOOT\\BOOTX64.EFI");
  const std::string json = p.to_json();
  CHECK(json.find("\"clouds\"") != std::string::npos);
  CHECK(json.find("\"--boot-mode uefi\"") != std::string::npos);
}

}  // namespace
}  // namespace vdisk

namespace vdisk {
namespace {

const CheckItem* rule(const CheckReport& r, std::string_view id) {
  for (const CheckItem& i : r.items)
    if (i.id == id) return &i;
  return nullptr;
}

CheckReport rules_for(std::string_view cloud, const boot::DiskBootFacts& f) {
  CheckReport r;
  const detail::MachineFacts* m = detail::find_machine(cloud);
  REQUIRE(m != nullptr);
  boot::add_boot_rules(r, *m, f);
  return r;
}

TEST_CASE("boot check rules: a data disk passes every cloud's rules") {
  Bytes d(4 * kMiB);
  mbr_entry(d, 0, 0x83, 2048, 4096);
  const auto f = facts_of(d);
  for (std::string_view cloud : {"azure", "gcp", "aws"}) {
    const CheckReport r = rules_for(cloud, f);
    CHECK(r.failures() == 0);
    const CheckItem* s = rule(r, fmt::format("{}.boot_setting", cloud));
    REQUIRE(s != nullptr);
    CHECK(s->detail == "none: a data disk");
  }
}

TEST_CASE("boot check rules: each rule fails where the cloud would not boot the disk") {
  SECTION("boot code without a partition table: AWS's own error text") {
    Bytes d(4 * kMiB);
    grub_boot_img(d, 1);
    const CheckReport r = rules_for("aws", facts_of(d));
    const CheckItem* t = rule(r, "aws.boot_table");
    REQUIRE(t != nullptr);
    CHECK_FALSE(t->passed);
    CHECK(t->detail.find("No valid partitions. Not a valid volume") != std::string::npos);
  }
  SECTION("a GPT of 4096-byte LBAs") {
    Bytes d(64 * kMiB);
    gpt(d, 4096, {{256, 256 + 1023, kEsp}});
    fat(d, 256 * 4096, {});
    const auto f = facts_of(d);
    for (std::string_view cloud : {"azure", "gcp", "aws"}) {
      const CheckReport r = rules_for(cloud, f);
      CHECK_FALSE(rule(r, fmt::format("{}.gpt_lba_size", cloud))->passed);
      CHECK_FALSE(rule(r, fmt::format("{}.boot_verdict", cloud))->passed);
    }
  }
  SECTION("an MBR disk above 2 TiB; an Azure BIOS-only boot disk above 2 TiB") {
    Bytes d(8 * kMiB);
    mbr_entry(d, 0, 0x83, 2048, 4096, true);
    grub_boot_img(d, 1);
    auto f = facts_of(d);
    f.disk_bytes = (2ull << 40) + kMiB;
    const CheckReport r = rules_for("azure", f);
    CHECK_FALSE(rule(r, "azure.mbr_size")->passed);
    CHECK_FALSE(rule(r, "azure.boot_disk_size")->passed);
    CHECK(rule(rules_for("aws", f), "aws.boot_disk_size")->passed);  // 16 TiB
    f.disk_bytes = 2ull << 40;
    CHECK(rule(rules_for("azure", f), "azure.mbr_size")->passed);
  }
  SECTION("an Azure UEFI boot disk above 4095 GiB (the managed OS disk limit)") {
    Bytes d(16 * kMiB);
    gpt(d, 512, {{2048, 2048 + 8191, kEsp}, {10240, 20000, kLinux}});
    fat(d, 2048 * 512, {});
    auto f = facts_of(d);
    REQUIRE(f.uefi);
    f.disk_bytes = 4095ull << 30;
    const CheckReport at_limit = rules_for("azure", f);
    CHECK(rule(at_limit, "azure.boot_disk_size")->passed);
    CHECK(rule(at_limit, "azure.boot_disk_size")
              ->detail.find("limit 4396972769280 bytes (4095 GiB)") != std::string::npos);
    f.disk_bytes = 4ull << 40;
    CHECK_FALSE(rule(rules_for("azure", f), "azure.boot_disk_size")->passed);
    CHECK(rule(rules_for("gcp", f), "gcp.boot_disk_size")->passed);
  }
  SECTION("GCP UEFI from an MBR 0xef ESP") {
    Bytes d(16 * kMiB);
    mbr_entry(d, 0, 0xEF, 2048, 8192);
    fat(d, 2048 * 512, {});
    const auto f = facts_of(d);
    const CheckReport g = rules_for("gcp", f);
    CHECK_FALSE(rule(g, "gcp.uefi_gpt")->passed);
    CHECK_FALSE(rule(g, "gcp.boot_verdict")->passed);
    CHECK(rules_for("azure", f).failures() == 0);
    CHECK(rule(rules_for("azure", f), "azure.uefi_gpt") == nullptr);
  }
  SECTION("an ESP without the default loader") {
    Bytes d(16 * kMiB);
    gpt(d, 512, {{2048, 2048 + 8191, kEsp}});
    fat(d, 2048 * 512, {.loader = ""});
    CHECK_FALSE(rule(rules_for("azure", facts_of(d)), "azure.boot_verdict")->passed);
  }
  SECTION("a disk that boots both ways names the setting") {
    Bytes d(16 * kMiB);
    gpt(d, 512, {{2048, 4095, kBiosBoot}, {4096, 4096 + 8191, kEsp}});
    grub_boot_img(d, 2048);
    fat(d, 4096 * 512, {});
    const CheckReport r = rules_for("aws", facts_of(d));
    CHECK(r.failures() == 0);
    CHECK(rule(r, "aws.boot_setting")->detail.starts_with("--boot-mode uefi-preferred"));
  }
}

}  // namespace
}  // namespace vdisk
