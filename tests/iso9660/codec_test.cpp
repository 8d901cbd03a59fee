// Pure codecs: directory records, volume descriptors, names, dates, SUSP/Rock Ridge entries,
// El Torito catalogs, MBR and GPT.
#include <catch2/catch.hpp>

#include <cstring>

#include <zlib.h>

#include "formats/iso9660/boot_records.h"
#include "formats/iso9660/iso_records.h"
#include "formats/iso9660/susp.h"
#include "iso_builder.h"
#include "base/endian.h"

using namespace vdisk;
using namespace vdisk::iso9660::detail;
namespace iso = vdisk::test::iso;

namespace {
std::span<const std::byte> sv(const iso::Bytes& b) { return b; }
iso::Bytes ascii(std::string_view s) {
  iso::Bytes b(s.size());
  std::memcpy(b.data(), s.data(), s.size());
  return b;
}
}  // namespace

TEST_CASE("iso9660: directory record decodes extent, length, flags and system use",
          "[iso9660][codec]") {
  const auto su = iso::nm("hello");
  const auto r = iso::record("HELLO.TXT;1", 40, 1234, 0, su);
  auto d = decode_dir_record(r, 0);
  REQUIRE(d.ok());
  CHECK(d->extent == 40);
  CHECK(d->data_length == 1234);
  CHECK(d->identifier.size() == 11);
  REQUIRE(d->system_use.size() >= su.size());
  CHECK(std::memcmp(d->system_use.data(), su.data(), su.size()) == 0);
  CHECK(d->recorded == 1577923200);  // 2020-01-02 00:00 UTC
}

TEST_CASE("iso9660: directory record shorter than 34 bytes is corrupt",
          "[iso9660][codec][hostile]") {
  auto r = iso::record("A", 20, 0, 0);
  r[0] = std::byte{33};
  auto d = decode_dir_record(r, 4096);
  REQUIRE_FALSE(d.ok());
  CHECK(d.status().code() == Errc::corrupt);
  CHECK_THAT(d.status().message(), Catch::Contains(">= 34"));
}

TEST_CASE("iso9660: identifier past the record length is corrupt", "[iso9660][codec][hostile]") {
  auto r = iso::record("ABCDEF", 20, 0, 0);
  r[32] = std::byte{200};
  auto d = decode_dir_record(r, 0);
  REQUIRE_FALSE(d.ok());
  CHECK_THAT(d.status().message(), Catch::Contains("past the record"));
}

TEST_CASE("iso9660: record crossing the sector end is corrupt", "[iso9660][codec][hostile]") {
  auto r = iso::record("ABCDEF", 20, 0, 0);
  auto d = decode_dir_record(std::span<const std::byte>(r).first(36), 0);
  REQUIRE_FALSE(d.ok());
  CHECK_THAT(d.status().message(), Catch::Contains("crosses the sector end"));
}

TEST_CASE("iso9660: both-endian halves that disagree are corrupt", "[iso9660][codec][hostile]") {
  auto r = iso::record("A", 20, 100, 0);
  r[10 + 7] = std::byte{1};  // big-endian copy of the length differs
  auto d = decode_dir_record(r, 0);
  REQUIRE_FALSE(d.ok());
  CHECK_THAT(d.status().message(), Catch::Contains("disagree"));
}

TEST_CASE("iso9660: plain names lose the version suffix and a trailing dot", "[iso9660][codec]") {
  CHECK(*plain_name(sv(ascii("README.TXT;1")), 0) == "README.TXT");
  CHECK(*plain_name(sv(ascii("MAKEFILE.;1")), 0) == "MAKEFILE");
  CHECK(*plain_name(sv(ascii("DIR")), 0) == "DIR");
  CHECK_FALSE(plain_name(sv(ascii("..")), 0).ok());
  CHECK_FALSE(plain_name(sv(ascii("A/B")), 0).ok());
}

TEST_CASE("iso9660: joliet names decode UCS-2 big-endian with surrogates", "[iso9660][codec]") {
  // "é€" + U+1F600 + ";1"
  const iso::Bytes id = {std::byte{0x00}, std::byte{0xE9}, std::byte{0x20}, std::byte{0xAC},
                         std::byte{0xD8}, std::byte{0x3D}, std::byte{0xDE}, std::byte{0x00},
                         std::byte{0x00}, std::byte{';'},  std::byte{0x00}, std::byte{'1'}};
  auto n = joliet_name(id, 0);
  REQUIRE(n.ok());
  CHECK(*n == "\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80");
  const iso::Bytes slash = {std::byte{0}, std::byte{'a'}, std::byte{0}, std::byte{'/'}};
  CHECK_FALSE(joliet_name(slash, 0).ok());
}

TEST_CASE("iso9660: long-form dates honour the GMT offset", "[iso9660][codec]") {
  iso::Bytes b = ascii("2021010203040500");
  b.push_back(std::byte{4});  // +1 hour
  auto t = decode_long_date(b);
  REQUIRE(t);
  CHECK(*t == 1609556645 - 3600);
  CHECK_FALSE(decode_long_date(ascii("0000000000000000\0")).has_value());
}

TEST_CASE("iso9660: volume descriptor checks CD001 and block size", "[iso9660][codec]") {
  iso::Builder b(20);
  b.root(18, 2048);
  auto block = std::span<const std::byte>(b.image()).subspan(16 * 2048, 2048);
  auto vd = decode_volume_descriptor(block, 32768);
  REQUIRE(vd.ok());
  CHECK(vd->type == kVdPrimary);
  CHECK(vd->volume_id == "TESTVOL");
  CHECK(vd->volume_blocks == 20);
  b.image()[16 * 2048 + 129] = std::byte{0};  // LE block size 0x0000 vs BE 0x0800
  CHECK_FALSE(decode_volume_descriptor(block, 32768).ok());
  b.image()[16 * 2048 + 1] = std::byte{'X'};
  auto bad = decode_volume_descriptor(block, 32768);
  REQUIRE_FALSE(bad.ok());
  CHECK_THAT(bad.status().message(), Catch::Contains("CD001"));
}

TEST_CASE("iso9660: SUSP parser reads NM, PX, SL, TF and a CE pointer", "[iso9660][susp]") {
  const std::pair<std::uint8_t, std::string_view> comps[] = {
      {0x08, ""}, {0, "usr"}, {0x04, ""}, {0x01, "lo"}, {0, "ng"}};
  const auto area =
      iso::cat({iso::nm("name"), iso::px(0100644, 7, 8), iso::sl(comps), iso::ce(30, 100, 200)});
  RockRidge rr;
  std::optional<Continuation> next;
  REQUIRE(parse_susp_area(area, 0, rr, &next).ok());
  CHECK(rr.name == "name");
  CHECK(rr.px);
  CHECK(rr.mode == 0100644);
  CHECK(rr.uid == 7);
  CHECK(rr.gid == 8);
  CHECK(rr.symlink == "/usr/../long");
  REQUIRE(next);
  CHECK(next->block == 30);
  CHECK(next->offset == 100);
  CHECK(next->length == 200);
}

TEST_CASE("iso9660: NM continuation concatenates across entries", "[iso9660][susp]") {
  const auto area = iso::cat({iso::nm("first-", 0x01), iso::nm("second")});
  RockRidge rr;
  REQUIRE(parse_susp_area(area, 0, rr, nullptr).ok());
  CHECK(rr.name == "first-second");
}

TEST_CASE("iso9660: SUSP entry running past the area is corrupt", "[iso9660][susp][hostile]") {
  auto area = iso::nm("abc");
  area[2] = std::byte{40};
  RockRidge rr;
  Status s = parse_susp_area(area, 500, rr, nullptr);
  CHECK(s.code() == Errc::corrupt);
  CHECK_THAT(s.message(), Catch::Contains("runs past the area"));
  area[2] = std::byte{2};
  CHECK(parse_susp_area(area, 500, rr, nullptr).code() == Errc::corrupt);
}

TEST_CASE("iso9660: NM and SL text with '/' or NUL is refused", "[iso9660][susp][hostile]") {
  RockRidge a;
  CHECK(parse_susp_area(iso::nm("a/b"), 0, a, nullptr).code() == Errc::corrupt);
  RockRidge b;
  CHECK(parse_susp_area(iso::nm(std::string_view("a\0b", 3)), 0, b, nullptr).code() ==
        Errc::corrupt);
  const std::pair<std::uint8_t, std::string_view> comps[] = {{0, "x/y"}};
  RockRidge c;
  CHECK(parse_susp_area(iso::sl(comps), 0, c, nullptr).code() == Errc::corrupt);
}

TEST_CASE("iso9660: overlong symlink targets are resource_exhausted", "[iso9660][susp][hostile]") {
  RockRidge rr;
  SuspLimits lim;
  lim.max_symlink_bytes = 10;
  const std::pair<std::uint8_t, std::string_view> comps[] = {{0, "0123456789abc"}};
  CHECK(parse_susp_area(iso::sl(comps), 0, rr, nullptr, lim).code() == Errc::resource_exhausted);
}

namespace {
iso::Bytes catalog(std::uint8_t platform, bool fix_checksum) {
  iso::Bytes c(2048);
  c[0] = std::byte{1};
  c[1] = static_cast<std::byte>(platform);
  c[30] = std::byte{0x55};
  c[31] = std::byte{0xAA};
  if (fix_checksum) {
    std::uint16_t sum = 0;
    for (std::size_t i = 0; i < 32; i += 2)
      sum = static_cast<std::uint16_t>(sum +
                                       detail::load_le16(std::span<const std::byte>(c).subspan(i)));
    detail::store_le16(std::span<std::byte>(c).subspan(28),
                       static_cast<std::uint16_t>(0x10000 - sum));
  }
  c[32] = std::byte{0x88};
  detail::store_le16(std::span<std::byte>(c).subspan(38), 4);
  detail::store_le32(std::span<std::byte>(c).subspan(40), 33);
  c[64] = std::byte{0x91};
  c[65] = std::byte{0xEF};
  c[66] = std::byte{1};
  c[96] = std::byte{0x88};
  detail::store_le16(std::span<std::byte>(c).subspan(102), 2880);
  detail::store_le32(std::span<std::byte>(c).subspan(104), 40);
  return c;
}
}  // namespace

TEST_CASE("iso9660: El Torito catalog yields default and section entries", "[iso9660][boot]") {
  auto e = decode_boot_catalog(catalog(0, true), 0);
  REQUIRE(e.ok());
  REQUIRE(e->size() == 2);
  CHECK((*e)[0].platform == 0);
  CHECK((*e)[0].bootable);
  CHECK((*e)[0].load_rba == 33);
  CHECK((*e)[0].sector_count == 4);
  CHECK((*e)[1].platform == 0xEF);
  CHECK((*e)[1].load_rba == 40);
}

TEST_CASE("iso9660: El Torito validation checksum must sum to zero", "[iso9660][boot][hostile]") {
  auto e = decode_boot_catalog(catalog(0, false), 0);
  // platform 0 and zero id: words sum to 0xAA55 != 0
  REQUIRE_FALSE(e.ok());
  CHECK_THAT(e.status().message(), Catch::Contains("checksum"));
}

TEST_CASE("iso9660: MBR decode finds signature, code and partitions", "[iso9660][boot]") {
  std::array<std::byte, 512> s{};
  s[510] = std::byte{0x55};
  s[511] = std::byte{0xAA};
  Mbr m = decode_mbr(s);
  CHECK(m.signature);
  CHECK_FALSE(m.code_present);
  CHECK(m.partitions.empty());
  s[0] = std::byte{0xEB};
  s[446] = std::byte{0x80};
  s[450] = std::byte{0x17};
  detail::store_le32(std::span<std::byte>(s).subspan(458), 2048);
  detail::store_le64(std::span<std::byte>(s).subspan(432), 132);
  m = decode_mbr(s);
  CHECK(m.code_present);
  CHECK(m.boot_lba == 132);
  REQUIRE(m.partitions.size() == 1);
  CHECK(m.partitions[0].active);
  CHECK(m.partitions[0].type == 0x17);
  CHECK(m.partitions[0].sectors == 2048);
}

TEST_CASE("iso9660: GPT header and entry array CRCs are verified", "[iso9660][boot]") {
  std::array<std::byte, 512> h{};
  std::memcpy(h.data(), "EFI PART", 8);
  std::span<std::byte> hs(h);
  detail::store_le32(hs.subspan(8), 0x00010000);
  detail::store_le32(hs.subspan(12), 92);
  detail::store_le64(hs.subspan(72), 2);
  detail::store_le32(hs.subspan(80), 4);
  detail::store_le32(hs.subspan(84), 128);
  iso::Bytes arr(512);
  // ESP type GUID C12A7328-F81F-11D2-BA4B-00A0C93EC93B, mixed endian.
  const std::uint8_t esp[16] = {0x28, 0x73, 0x2A, 0xC1, 0x1F, 0xF8, 0xD2, 0x11,
                                0xBA, 0x4B, 0x00, 0xA0, 0xC9, 0x3E, 0xC9, 0x3B};
  std::memcpy(arr.data(), esp, 16);
  detail::store_le64(std::span<std::byte>(arr).subspan(32), 100);
  detail::store_le64(std::span<std::byte>(arr).subspan(40), 199);
  const auto acrc = crc32(0, reinterpret_cast<const Bytef*>(arr.data()), 512);
  detail::store_le32(hs.subspan(88), static_cast<std::uint32_t>(acrc));
  const auto hcrc = crc32(0, reinterpret_cast<const Bytef*>(h.data()), 92);
  detail::store_le32(hs.subspan(16), static_cast<std::uint32_t>(hcrc));
  auto hdr = decode_gpt_header(h, 512);
  REQUIRE(hdr.ok());
  auto parts = decode_gpt_entries(*hdr, arr, 1024);
  REQUIRE(parts.ok());
  REQUIRE(parts->size() == 1);
  CHECK((*parts)[0].esp);
  CHECK((*parts)[0].type_guid == "c12a7328-f81f-11d2-ba4b-00a0c93ec93b");
  arr[100] = std::byte{1};
  CHECK_THAT(decode_gpt_entries(*hdr, arr, 1024).status().message(), Catch::Contains("CRC32"));
  h[20] = std::byte{0xFF};
  CHECK_THAT(decode_gpt_header(h, 512).status().message(), Catch::Contains("CRC32"));
}
