// Pure VHD codecs: footer fields, checksums, CHS geometry, size rules, dynamic header, UTF-16.
#include <catch2/catch.hpp>

#include <cstring>

#include "base/checked.h"
#include "formats/vhd/vhd.h"
#include "formats/vhd/vhd_dynamic_header.h"
#include "formats/vhd/vhd_footer.h"

using namespace vdisk;
using namespace vdisk::vhd;

namespace {

void put(std::vector<std::byte>& b, std::size_t at, std::initializer_list<int> v) {
  for (int x : v) b[at++] = static_cast<std::byte>(x);
}

// A 20 MiB fixed footer written out byte by byte.
std::vector<std::byte> annotated_footer() {
  std::vector<std::byte> b(512, std::byte{0});
  put(b, 0, {'c', 'o', 'n', 'e', 'c', 't', 'i', 'x'});           // cookie
  put(b, 8, {0, 0, 0, 2});                                       // features: reserved bit
  put(b, 12, {0, 1, 0, 0});                                      // version 1.0
  put(b, 16, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff});  // data offset: none (fixed)
  put(b, 24, {0x2c, 0xb4, 0x17, 0x80});                          // timestamp
  put(b, 28, {'w', 'i', 'n', ' '});                              // creator application
  put(b, 32, {0, 0x0a, 0, 0});                                   // creator version 10.0
  put(b, 36, {'W', 'i', '2', 'k'});                              // creator host OS
  put(b, 40, {0, 0, 0, 0, 0x01, 0x40, 0, 0});                    // original size 20 MiB
  put(b, 48, {0, 0, 0, 0, 0x01, 0x40, 0, 0});                    // current size 20 MiB
  put(b, 56, {0x02, 0x5a, 4, 17});                               // CHS 602/4/17
  put(b, 60, {0, 0, 0, 2});                                      // disk type fixed
  for (int i = 0; i < 16; ++i)
    b[68 + static_cast<std::size_t>(i)] = static_cast<std::byte>(0xa0 + i);
  b[84] = std::byte{0};  // saved state
  std::uint32_t sum = 0;
  for (std::byte x : b) sum += static_cast<std::uint8_t>(x);
  sum = ~sum;
  put(b, 64,
      {static_cast<int>(sum >> 24), static_cast<int>((sum >> 16) & 0xff),
       static_cast<int>((sum >> 8) & 0xff), static_cast<int>(sum & 0xff)});
  return b;
}

}  // namespace

TEST_CASE("vhd: footer decodes every field of an annotated footer", "[vhd][footer]") {
  const auto b = annotated_footer();
  auto f = decode_footer(b, 0);
  REQUIRE(f.ok());
  CHECK(f->features == 2);
  CHECK(f->version == 0x00010000);
  CHECK(f->data_offset == 0xFFFFFFFFFFFFFFFFull);
  CHECK(f->timestamp == 0x2cb41780u);
  CHECK(f->creator_app_string() == "win ");
  CHECK(f->creator_version == 0x000a0000u);
  CHECK(f->creator_os == 0x5769326bu);
  CHECK(f->original_size == 20u << 20);
  CHECK(f->current_size == 20u << 20);
  CHECK(f->geometry == Geometry{602, 4, 17});
  CHECK(f->disk_type == 2);
  CHECK(f->checksum == footer_checksum(b));
  CHECK(f->unique_id[0] == 0xa0);
  CHECK(f->unique_id[15] == 0xaf);
  CHECK(f->saved_state == 0);
}

TEST_CASE("vhd: footer encodes to the annotated bytes", "[vhd][footer]") {
  const auto b = annotated_footer();
  Footer f;
  f.timestamp = 0x2cb41780;
  f.original_size = f.current_size = 20u << 20;
  f.geometry = chs_for_size(20u << 20);
  for (std::size_t i = 0; i < 16; ++i) f.unique_id[i] = static_cast<std::uint8_t>(0xa0 + i);
  const auto enc = encode_footer(f);
  CHECK(std::vector<std::byte>(enc.begin(), enc.end()) == b);
}

TEST_CASE("vhd: checksum is the one's complement of the byte sum without the field",
          "[vhd][footer]") {
  std::vector<std::byte> b(512, std::byte{0});
  std::memcpy(b.data(), "conectix", 8);
  // c o n e c t i x = 99+111+110+101+99+116+105+120 = 861
  CHECK(footer_checksum(b) == ~std::uint32_t{861});
  // The stored checksum bytes themselves do not count.
  put(b, 64, {0x12, 0x34, 0x56, 0x78});
  CHECK(footer_checksum(b) == ~std::uint32_t{861});
  b[511] = std::byte{1};
  CHECK(footer_checksum(b) == ~std::uint32_t{862});
}

TEST_CASE("vhd: decode rejects a wrong cookie naming the offset", "[vhd][footer]") {
  auto b = annotated_footer();
  b[0] = std::byte{'C'};
  auto f = decode_footer(b, 4096);
  REQUIRE_FALSE(f.ok());
  CHECK(f.status().code() == Errc::corrupt);
  CHECK(f.status().message().find("4096") != std::string::npos);
}

TEST_CASE("vhd: CHS geometry follows the specification at known sizes and boundaries",
          "[vhd][chs]") {
  // qemu observation: 104,865,792 bytes is exactly 1004/12/17.
  CHECK(chs_for_size(104865792) == Geometry{1004, 12, 17});
  CHECK(chs_for_size(104865792).bytes() == 104865792);
  CHECK(chs_for_size(20u << 20) == Geometry{602, 4, 17});
  CHECK(chs_for_size(0) == Geometry{0, 4, 17});
  // 300000 sectors: 17 sectors would need 18 heads, so 31 sectors and 16 heads.
  CHECK(chs_for_size(300000ull * 512) == Geometry{604, 16, 31});
  // One sector below 65535*16*63: the 63-sector branch; at it: the 255-sector branch.
  const std::uint64_t edge = 65535ull * 16 * 63;
  CHECK(chs_for_size((edge - 1) * 512) == Geometry{65534, 16, 63});
  CHECK(chs_for_size(edge * 512) == Geometry{16191, 16, 255});
  // 127.5 GiB and above pin at the maximum.
  CHECK(chs_for_size(65535ull * 16 * 255 * 512) == kMaxGeometry);
  CHECK(chs_for_size(200ull << 30) == kMaxGeometry);
  CHECK(chs_for_size(2ull << 40) == kMaxGeometry);
  // Geometry never exceeds the size.
  for (std::uint64_t s : {1ull << 20, 3ull << 30, 100ull << 30, 127ull << 30})
    CHECK(chs_for_size(s).bytes() <= s);
}

TEST_CASE("vhd: qemu sees the exact size only for trusted creators or maximum geometry",
          "[vhd][chs]") {
  Footer f;
  f.current_size = 20u << 20;
  f.geometry = chs_for_size(f.current_size);
  CHECK(qemu_visible_size(f) == f.current_size);  // "win "
  f.creator_app = {'l', 'v', 'd', 'k'};
  CHECK(qemu_visible_size(f) == f.geometry.bytes());
  CHECK(qemu_visible_size(f) < f.current_size);
  f.geometry = kMaxGeometry;
  CHECK(qemu_visible_size(f) == f.current_size);
}

TEST_CASE("vhd: plain size rule rounds up to a whole sector only", "[vhd][size]") {
  CHECK(*fixed_size(plain_rule(), 0) == 0);
  CHECK(*fixed_size(plain_rule(), 1) == 512);
  CHECK(*fixed_size(plain_rule(), 512) == 512);
  CHECK(*fixed_size(plain_rule(), 1000) == 1024);
  CHECK(*fixed_size(plain_rule(), (3ull << 20) + 512) == (3ull << 20) + 512);
}

TEST_CASE("vhd: azure size rule rounds up to MiB, raises to 20 MiB, keeps aligned sizes",
          "[vhd][size]") {
  constexpr std::uint64_t MiB = 1 << 20;
  CHECK(*fixed_size(azure_rule(), 1) == 20 * MiB);
  CHECK(*fixed_size(azure_rule(), 20 * MiB - 1) == 20 * MiB);
  CHECK(*fixed_size(azure_rule(), 20 * MiB) == 20 * MiB);
  CHECK(*fixed_size(azure_rule(), 20 * MiB + 1) == 21 * MiB);
  CHECK(*fixed_size(azure_rule(), 1024 * MiB) == 1024 * MiB);
  CHECK(*fixed_size(azure_rule(), 32ull << 40) == 32ull << 40);
}

TEST_CASE("vhd: azure size rule refuses more than 32 TiB with a clear message", "[vhd][size]") {
  auto r = fixed_size(azure_rule(), (32ull << 40) + 1);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == Errc::invalid_argument);
  CHECK(r.status().message().find("32 TiB") != std::string::npos);
  CHECK(r.status().message().find("azure") != std::string::npos);
}

TEST_CASE("vhd: dynamic header round-trips every field with a valid checksum", "[vhd][dynamic]") {
  DynamicHeader h;
  h.table_offset = 1536;
  h.max_table_entries = 513;
  h.block_size = 1u << 21;
  h.parent_unique_id[3] = 7;
  h.parent_timestamp = 99;
  h.parent_name[1] = std::byte{'p'};
  h.locators[2] = {kPlatformW2ru, 1, 20, 4096};
  const auto b = encode_dynamic_header(h);
  CHECK(std::memcmp(b.data(), "cxsparse", 8) == 0);
  CHECK(static_cast<int>(b[16 + 6]) == 0x06);  // 1536 = 0x600, big-endian
  CHECK(static_cast<int>(b[32 + 1]) == 0x20);  // 2 MiB = 0x00200000
  auto d = decode_dynamic_header(b, 512);
  REQUIRE(d.ok());
  CHECK(d->data_offset == kNoDataOffset);
  CHECK(d->table_offset == 1536);
  CHECK(d->max_table_entries == 513);
  CHECK(d->block_size == 1u << 21);
  CHECK(d->parent_unique_id == h.parent_unique_id);
  CHECK(d->parent_timestamp == 99);
  CHECK(d->locators[2].platform_code == kPlatformW2ru);
  CHECK(d->locators[2].data_length == 20);
  CHECK(d->locators[2].data_offset == 4096);
  CHECK(d->checksum == dynamic_header_checksum(b));
  CHECK(utf16_to_utf8(d->parent_name, true) == "p");
}

TEST_CASE("vhd: UTF-16 paths decode in both byte orders and stop at NUL", "[vhd][text]") {
  const std::string s = "dir\\b\xC3\xA4se \xF0\x9F\x98\x80.vhd";
  for (bool be : {false, true}) {
    auto u = utf8_to_utf16(s, be);
    CHECK(utf16_to_utf8(u, be) == s);
    u.push_back(std::byte{0});
    u.push_back(std::byte{0});
    u.push_back(std::byte{'x'});
    u.push_back(std::byte{0});
    CHECK(utf16_to_utf8(u, be) == s);
  }
  // An unpaired surrogate becomes U+FFFD.
  std::vector<std::byte> lone{std::byte{0x00}, std::byte{0xD8}, std::byte{'a'}, std::byte{0}};
  CHECK(utf16_to_utf8(lone, false) ==
        "\xEF\xBF\xBD"
        "a");
}
