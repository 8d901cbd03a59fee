// GNU tar header codec: byte layout as GNU tar 1.34 writes it (docs/cloud.md, "GCP
// image tarballs" rules 3-4), sparse maps
// of every size class round-tripping through the decoder, and hostile numeric fields.
#include <catch2/catch.hpp>

#include <cstring>
#include <string>

#include "tar/tar.h"
#include "test_support.h"

using namespace vdisk;
using namespace vdisk::gcp;

namespace {

constexpr std::uint64_t kKiB = 1024, kMiB = 1024 * kKiB, kGiB = 1024 * kMiB;

std::string text(const std::vector<std::byte>& b, std::size_t at, std::size_t n) {
  return std::string(reinterpret_cast<const char*>(b.data() + at), n);
}

std::vector<SparseRegion> regions(std::size_t count, std::uint64_t stride, std::uint64_t len) {
  std::vector<SparseRegion> r;
  for (std::size_t i = 0; i < count; ++i) r.push_back({i * stride, len});
  return r;
}

// Decodes header + extension blocks back into a map, the way a reader does.
std::vector<SparseRegion> decode_map(const std::vector<std::byte>& blocks, DecodedHeader& h) {
  auto d = decode_header(std::span(blocks).first(kTarBlock), 0);
  REQUIRE(d.ok());
  h = *d;
  std::vector<SparseRegion> map = h.map;
  bool more = h.is_extended;
  std::size_t at = kTarBlock;
  while (more) {
    REQUIRE(at + kTarBlock <= blocks.size());
    auto r = decode_sparse_extension(std::span(blocks).subspan(at, kTarBlock), at, map, 1u << 20);
    REQUIRE(r.ok());
    more = *r;
    at += kTarBlock;
  }
  CHECK(at == blocks.size());
  return map;
}

}  // namespace

TEST_CASE("gcp tar: regular member header matches GNU tar's layout", "[gcp][tar]") {
  MemberSpec s;
  s.real_size = 1 * kGiB;
  s.mtime = 1700000000;
  auto r = encode_member_header(s);
  REQUIRE(r.ok());
  const auto& h = *r;
  REQUIRE(h.size() == 512);
  CHECK(text(h, 0, 9) == std::string("disk.raw\0", 9));
  CHECK(text(h, 100, 8) == std::string("0000644\0", 8));
  CHECK(text(h, 108, 8) == std::string("0000000\0", 8));
  CHECK(text(h, 124, 12) == std::string("10000000000\0", 12));
  CHECK(text(h, 136, 12) == std::string("14524770400\0", 12));
  CHECK(static_cast<char>(h[156]) == '0');
  CHECK(text(h, 257, 8) == std::string("ustar  \0", 8));
  CHECK(text(h, 265, 5) == std::string("root\0", 5));
  CHECK(text(h, 297, 5) == std::string("root\0", 5));
  // Checksum: 6 octal digits, NUL, space; equals the unsigned sum with the field as spaces.
  CHECK(static_cast<char>(h[154]) == '\0');
  CHECK(static_cast<char>(h[155]) == ' ');
  unsigned sum = 0;
  for (std::size_t i = 0; i < 512; ++i)
    sum += (i >= 148 && i < 156) ? 32u : static_cast<unsigned>(h[i]);
  CHECK(std::stoul(text(h, 148, 6), nullptr, 8) == sum);
  auto d = decode_header(h, 0);
  REQUIRE(d.ok());
  CHECK(d->checksum_ok);
  CHECK(d->magic == TarMagic::gnu);
  CHECK(d->name == "disk.raw");
  CHECK(d->size == kGiB);
  CHECK(d->mtime == 1700000000u);
}

TEST_CASE("gcp tar: observed 10 MiB five-region example encodes byte for byte", "[gcp][tar]") {
  // GNU tar 1.34's archive of 4 KiB of data at 0, 3, 5, 7, 9 MiB of a 10 MiB file (docs/cloud.md,
  // "GCP image tarballs" rule 3).
  MemberSpec s;
  s.sparse = true;
  s.real_size = 10 * kMiB;
  for (std::uint64_t m : {0ull, 3ull, 5ull, 7ull, 9ull}) s.regions.push_back({m * kMiB, 4096});
  auto r = encode_member_header(s);
  REQUIRE(r.ok());
  const auto& h = *r;
  REQUIRE(h.size() == 1024);
  CHECK(static_cast<char>(h[156]) == 'S');
  CHECK(text(h, 124, 12) == std::string("00000050000\0", 12));
  CHECK(text(h, 386, 24) == std::string("00000000000\0"
                                        "00000010000\0",
                                        24));
  CHECK(text(h, 386 + 24, 12) == std::string("00014000000\0", 12));
  CHECK(static_cast<int>(h[482]) == 1);
  CHECK(text(h, 483, 12) == std::string("00050000000\0", 12));
  // Extension block: (9 MiB, 4096), terminator (10 MiB, 0), isextended 0.
  CHECK(text(h, 512, 24) == std::string("00044000000\0"
                                        "00000010000\0",
                                        24));
  CHECK(text(h, 512 + 24, 24) == std::string("00050000000\0"
                                             "00000000000\0",
                                             24));
  CHECK(static_cast<int>(h[512 + 504]) == 0);
}

TEST_CASE("gcp tar: values of 8 GiB and above use base-256", "[gcp][tar]") {
  MemberSpec s;
  s.sparse = true;
  s.real_size = 9 * kGiB;
  s.regions = {{0, 4096}, {9 * kGiB - 4096, 4096}};
  auto r = encode_member_header(s);
  REQUIRE(r.ok());
  const auto& h = *r;
  const unsigned char nine_gib[12] = {0x80, 0, 0, 0, 0, 0, 0, 0x02, 0x40, 0, 0, 0};
  CHECK(std::memcmp(h.data() + 483, nine_gib, 12) == 0);
  const unsigned char off[12] = {0x80, 0, 0, 0, 0, 0, 0, 0x02, 0x3f, 0xff, 0xf0, 0};
  CHECK(std::memcmp(h.data() + 386 + 24, off, 12) == 0);
  DecodedHeader d;
  auto map = decode_map(h, d);
  CHECK(d.real_size == 9 * kGiB);
  CHECK(map == std::vector<SparseRegion>{{0, 4096}, {9 * kGiB - 4096, 4096}, {9 * kGiB, 0}});
  CHECK(validate_sparse_map(map, d.real_size, d.size).ok());
  // A regular member of 8 GiB: size field base-256 too.
  MemberSpec big;
  big.real_size = 8 * kGiB;
  auto rb = encode_member_header(big);
  REQUIRE(rb.ok());
  CHECK(static_cast<unsigned>((*rb)[124]) == 0x80u);
  auto db = decode_header(*rb, 0);
  REQUIRE(db.ok());
  CHECK(db->size == 8 * kGiB);
  CHECK(db->checksum_ok);
}

TEST_CASE("gcp tar: sparse maps of 0, 1, 4, 5, 25 and thousands of regions round-trip",
          "[gcp][tar]") {
  for (std::size_t count : {0u, 1u, 3u, 4u, 5u, 24u, 25u, 26u, 4000u}) {
    CAPTURE(count);
    MemberSpec s;
    s.sparse = true;
    s.real_size = 20 * kGiB;  // also puts late offsets into base-256
    s.regions = regions(count, 4 * kMiB + 8192, 4096 * (1 + count % 3));
    auto r = encode_member_header(s);
    REQUIRE(r.ok());
    const std::size_t entries = count + 1;
    const std::size_t ext = entries > 4 ? (entries - 4 + 20) / 21 : 0;
    CHECK(r->size() == 512 * (1 + ext));
    DecodedHeader d;
    auto map = decode_map(*r, d);
    auto want = s.regions;
    want.push_back({s.real_size, 0});
    CHECK(map == want);
    CHECK(d.size == stored_bytes(s));
    CHECK(validate_sparse_map(map, d.real_size, d.size).ok());
  }
}

TEST_CASE("gcp tar: end of archive pads to a whole 10240-byte record", "[gcp][tar]") {
  CHECK(end_of_archive_bytes(512) == 10240 - 512);
  CHECK(end_of_archive_bytes(9216) == 1024);
  CHECK(end_of_archive_bytes(9728) == 1024 + 10240 - 512);
  CHECK((1536 + end_of_archive_bytes(1536)) % 10240 == 0);
}

TEST_CASE("gcp tar: encoder refuses bad specs", "[gcp][tar]") {
  MemberSpec s;
  s.sparse = true;
  s.real_size = kMiB;
  s.regions = {{0, 1000}};
  CHECK(encode_member_header(s).status().code() == Errc::invalid_argument);
  s.regions = {{4096, 4096}, {0, 4096}};
  CHECK(encode_member_header(s).status().code() == Errc::invalid_argument);
  s.regions = {{kMiB - 512, 1024}};
  CHECK(encode_member_header(s).status().code() == Errc::invalid_argument);
  s.regions = {};
  s.name = std::string(101, 'a');
  CHECK(encode_member_header(s).status().code() == Errc::invalid_argument);
}

TEST_CASE("gcp tar: number parser accepts tar spellings and rejects hostile fields", "[gcp][tar]") {
  auto num = [](std::string s) {
    return parse_number(std::span(reinterpret_cast<const std::byte*>(s.data()), s.size()));
  };
  CHECK(*num(std::string("0000644\0", 8)) == 0644u);
  CHECK(*num("   644 ") == 0644u);
  CHECK(*num(std::string("\0\0\0\0", 4)) == 0u);
  CHECK(!num("12x4").ok());
  CHECK(!num("99999999999999999999999").ok());  // '9' is not octal
  CHECK(!num("77777777777777777777777").ok());  // overflows 64 bits
  std::string neg(12, '\xff');
  CHECK(!num(neg).ok());
  std::string huge(12, '\0');
  huge[0] = '\x80';
  huge[3] = '\x01';  // 2^64 and above
  CHECK(!num(huge).ok());
}

TEST_CASE("gcp tar: sparse map validation names the broken rule", "[gcp][tar]") {
  CHECK(validate_sparse_map({{kMiB, 0}}, kMiB, 0).ok());
  CHECK(!validate_sparse_map({}, kMiB, 0).ok());
  CHECK(!validate_sparse_map({{0, 4096}}, kMiB, 4096).ok());  // no terminator
  CHECK(!validate_sparse_map({{4096, 4096}, {0, 4096}, {kMiB, 0}}, kMiB, 8192).ok());  // order
  CHECK(!validate_sparse_map({{0, 4096}, {kMiB, 0}}, kMiB, 8192).ok());           // size mismatch
  CHECK(!validate_sparse_map({{0, 100}, {kMiB, 0}}, kMiB, 100).ok());             // partial block
  CHECK(!validate_sparse_map({{kMiB - 512, 4096}, {kMiB, 0}}, kMiB, 4096).ok());  // outside
}

TEST_CASE("gcp tar: decoder rejects malformed headers without crashing", "[gcp][tar]") {
  MemberSpec s;
  s.sparse = true;
  s.real_size = kMiB;
  s.regions = regions(30, 8192, 4096);
  auto r = encode_member_header(s);
  REQUIRE(r.ok());
  auto bad = *r;
  bad[124] = std::byte{'9'};
  CHECK(decode_header(std::span(bad).first(512), 0).status().code() == Errc::corrupt);
  bad = *r;
  bad[0] = std::byte{'X'};
  auto d = decode_header(std::span(bad).first(512), 0);
  REQUIRE(d.ok());
  CHECK_FALSE(d->checksum_ok);
  std::vector<SparseRegion> map;
  auto e = decode_sparse_extension(std::span(*r).subspan(512, 512), 512, map, 3);
  CHECK(e.status().code() == Errc::resource_exhausted);
  CHECK(decode_header(std::span(*r).first(100), 0).status().code() == Errc::corrupt);
}
