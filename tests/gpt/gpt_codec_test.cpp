// GPT header and entry codec: round trips, and every hostile field refused with a clear message.
#include <catch2/catch.hpp>

#include "gpt/gpt_codec.h"
#include "gpt_builder.h"
#include "base/endian.h"

namespace vdisk::test {
namespace {

constexpr std::uint64_t kMiB = 1 << 20;

GptSpec small_spec() {
  GptSpec s;
  s.size = 4 * kMiB + 7 * 512;
  s.parts = {{2048, 4095}, {4096, 6000}};
  return s;
}

std::span<std::byte> sector(std::vector<std::byte>& d, std::uint64_t lba) {
  return std::span(d).subspan(lba * 512, 512);
}

// Decodes the primary header of `disk` after `edit` changed it (CRC recomputed unless the edit
// is done on raw bytes afterwards).
std::string primary_error(std::vector<std::byte> disk) {
  auto r = gpt::decode_header(sector(disk, 1), 1, 512, disk.size() / 512);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == Errc::corrupt);
  return std::string(r.status().message());
}

}  // namespace

TEST_CASE("gpt: crc32 matches zlib's check value", "[gpt]") {
  const std::string s = "123456789";
  CHECK(gpt::crc32(std::as_bytes(std::span(s))) == 0xCBF43926u);
}

TEST_CASE("gpt: builder disk decodes, primary and backup", "[gpt]") {
  auto disk = make_gpt_disk(small_spec());
  const std::uint64_t lbas = disk.size() / 512;
  auto p = gpt::decode_header(sector(disk, 1), 1, 512, lbas);
  REQUIRE(p.ok());
  CHECK(p->alternate_lba == lbas - 1);
  CHECK(p->first_usable_lba == 2048);
  CHECK(p->last_usable_lba == lbas - 34);
  auto b = gpt::decode_header(sector(disk, lbas - 1), lbas - 1, 512, lbas);
  REQUIRE(b.ok());
  CHECK(b->entries_lba == lbas - 33);
  auto e = gpt::decode_entries(std::span(disk).subspan(1024, 128 * 128), *p, 1024);
  REQUIRE(e.ok());
  REQUIRE(e->size() == 2);
  CHECK((*e)[1].first_lba == 4096);
  CHECK((*e)[1].last_lba == 6000);
  CHECK((*e)[1].index == 1);
}

TEST_CASE("gpt: encode keeps bytes past the defined fields and round-trips", "[gpt]") {
  auto disk = make_gpt_disk(small_spec());
  auto s = sector(disk, 1);
  s[100] = std::byte{0x5A};  // outside header_size (92): not covered by the CRC
  auto h = gpt::decode_header(s, 1, 512, disk.size() / 512);
  REQUIRE(h.ok());
  gpt::Header v = *h;
  v.last_usable_lba -= 10;
  gpt::encode_header(v, s);
  CHECK(s[100] == std::byte{0x5A});
  auto again = gpt::decode_header(s, 1, 512, disk.size() / 512);
  REQUIRE(again.ok());
  CHECK(again->last_usable_lba == h->last_usable_lba - 10);
  CHECK(again->header_crc == v.header_crc);
  CHECK(again->header_crc != h->header_crc);
}

TEST_CASE("gpt: header size above 92 is covered by the CRC", "[gpt]") {
  auto disk = make_gpt_disk(small_spec());
  edit_header(disk, 1, 512, [](gpt::Header& h) { h.header_size = 128; });
  REQUIRE(gpt::decode_header(sector(disk, 1), 1, 512, disk.size() / 512).ok());
  sector(disk, 1)[120] = std::byte{1};
  CHECK_THAT(primary_error(disk), Catch::Contains("header CRC32"));
}

TEST_CASE("gpt: hostile header fields are refused", "[gpt][hostile]") {
  const auto good = make_gpt_disk(small_spec());
  const std::uint64_t lbas = good.size() / 512;
  auto with = [&](auto edit) {
    auto d = good;
    edit_header(d, 1, 512, edit);
    return primary_error(d);
  };
  CHECK_THAT(with([](gpt::Header& h) { h.revision = 0x00020000; }),
             Catch::Contains("revision 0x00020000"));
  CHECK_THAT(with([](gpt::Header& h) { h.entry_size = 100; }), Catch::Contains("entry size 100"));
  CHECK_THAT(with([](gpt::Header& h) { h.entry_size = 384; }), Catch::Contains("entry size 384"));
  CHECK_THAT(with([](gpt::Header& h) { h.entry_count = 0; }), Catch::Contains("0 entries"));
  CHECK_THAT(with([](gpt::Header& h) { h.entry_count = 0xFFFFFFFF; }),
             Catch::Contains("4294967295 entries"));
  CHECK_THAT(with([&](gpt::Header& h) { h.alternate_lba = lbas; }),
             Catch::Contains("alternate LBA") && Catch::Contains("past the disk's last LBA"));
  CHECK_THAT(with([](gpt::Header& h) { h.alternate_lba = ~0ull; }),
             Catch::Contains("past the disk's last LBA"));
  CHECK_THAT(with([&](gpt::Header& h) { h.last_usable_lba = lbas + 5; }),
             Catch::Contains("last usable LBA"));
  CHECK_THAT(with([](gpt::Header& h) { h.first_usable_lba = h.last_usable_lba + 1; }),
             Catch::Contains("is after last usable LBA"));
  CHECK_THAT(with([](gpt::Header& h) { h.first_usable_lba = 20; }),
             Catch::Contains("primary layout"));
  CHECK_THAT(with([](gpt::Header& h) { h.entries_lba = 1; }), Catch::Contains("primary layout"));
  CHECK_THAT(with([](gpt::Header& h) { h.alternate_lba = h.last_usable_lba; }),
             Catch::Contains("inside the usable area"));
  CHECK_THAT(with([](gpt::Header& h) { h.alternate_lba = 1; }),
             Catch::Contains("the header's own LBA"));
  CHECK_THAT(with([](gpt::Header& h) { h.current_lba = 2; }), Catch::Contains("current LBA 2"));
  CHECK_THAT(with([](gpt::Header& h) { h.header_size = 91; }), Catch::Contains("header size 91"));
  CHECK_THAT(with([](gpt::Header& h) { h.header_size = 513; }), Catch::Contains("header size 513"));

  auto raw = good;
  sector(raw, 1)[0] = std::byte{'X'};
  CHECK_THAT(primary_error(raw), Catch::Contains("signature"));
  raw = good;
  sector(raw, 1)[60] ^= std::byte{1};  // disk GUID bit flip
  CHECK_THAT(primary_error(raw), Catch::Contains("header CRC32") && Catch::Contains("offset 512"));
  raw = good;
  {
    auto s = sector(raw, 1);
    detail::store_le32(s.subspan(20), 7);  // reserved
    detail::store_le32(s.subspan(16), 0);
    detail::store_le32(s.subspan(16), gpt::crc32(s.first(92)));
  }
  CHECK_THAT(primary_error(raw), Catch::Contains("reserved field 0x00000007"));
  // A wrong sector size is the caller's error, not the disk's.
  auto d = good;
  auto r = gpt::decode_header(sector(d, 1), 1, 1024, lbas);
  CHECK(r.status().code() == Errc::invalid_argument);
}

TEST_CASE("gpt: backup header layout is checked", "[gpt][hostile]") {
  auto disk = make_gpt_disk(small_spec());
  const std::uint64_t lbas = disk.size() / 512;
  edit_header(disk, lbas - 1, 512, [](gpt::Header& h) { h.entries_lba = h.last_usable_lba; });
  auto r = gpt::decode_header(sector(disk, lbas - 1), lbas - 1, 512, lbas);
  REQUIRE_FALSE(r.ok());
  CHECK_THAT(std::string(r.status().message()), Catch::Contains("backup layout"));
}

TEST_CASE("gpt: hostile entry arrays are refused", "[gpt][hostile]") {
  auto spec = small_spec();
  auto check = [](std::vector<std::byte> disk, const char* want) {
    auto h = gpt::decode_header(sector(disk, 1), 1, 512, disk.size() / 512);
    REQUIRE(h.ok());
    auto array = std::span(disk).subspan(1024, h->array_bytes());
    gpt::Header fixed = *h;
    fixed.entries_crc = gpt::crc32(array);
    auto r = gpt::decode_entries(array, fixed, 1024);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == Errc::corrupt);
    CHECK_THAT(std::string(r.status().message()), Catch::Contains(want));
  };
  spec.parts = {{2048, 4095}, {4000, 5000}};
  check(make_gpt_disk(spec), "overlap entry 1");
  spec.parts = {{2048, 4095}, {5000, 4096}};
  check(make_gpt_disk(spec), "partition entry 2");
  spec.parts = {{100, 4095}};
  check(make_gpt_disk(spec), "expected inside the usable LBAs 2048..");
  spec.parts = {{2048, ~0ull}};
  check(make_gpt_disk(spec), "partition entry 1");

  auto disk = make_gpt_disk(small_spec());
  disk[1024 + 40] ^= std::byte{1};  // partition 1's last LBA, array CRC now stale
  auto h = gpt::decode_header(sector(disk, 1), 1, 512, disk.size() / 512);
  REQUIRE(h.ok());
  auto r = gpt::decode_entries(std::span(disk).subspan(1024, h->array_bytes()), *h, 1024);
  REQUIRE_FALSE(r.ok());
  CHECK_THAT(std::string(r.status().message()),
             Catch::Contains("partition entry array at offset 1024") && Catch::Contains("CRC32"));
  CHECK(gpt::decode_entries(std::span(disk).subspan(1024, 512), *h, 1024).status().code() ==
        Errc::invalid_argument);
}

}  // namespace vdisk::test
