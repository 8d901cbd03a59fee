// Hostile dynamic VHDs: every structural field out of bounds gives a one-line corrupt (or
// unsupported / resource_exhausted) error naming the structure and offset; nothing crashes.
#include <catch2/catch.hpp>

#include "test_support.h"
#include "base/endian.h"
#include "vdisk/image.h"
#include "vhd_builder.h"

using namespace vdisk;
using namespace vdisk::vhd;
using vdisk::test::pattern;

namespace {

test::DynamicVhdSpec spec() {
  test::DynamicVhdSpec s;
  s.size = 4 * 4096;
  s.blocks.push_back({0, pattern(4096, 1), {}});
  s.blocks.push_back({2, pattern(4096, 2), {}});
  return s;
}

Status open_status(const std::vector<std::byte>& b) {
  OpenOptions o;
  o.format = "vhd";
  return open_image(memory_file(b, "<hostile.vhd>"), {}, o).status();
}

// Edits a big-endian field of the dynamic header (at 512) and reseals the checksums.
std::vector<std::byte> with_header_u32(std::size_t field, std::uint32_t v) {
  auto b = test::build_dynamic_vhd(spec()).bytes;
  detail::store_be32(std::span(b).subspan(512 + field), v);
  test::reseal_vhd(b);
  return b;
}

void expect(const Status& st, Errc code, std::initializer_list<const char*> words) {
  INFO(st.to_string());
  CHECK(st.code() == code);
  CHECK(st.message().find('\n') == std::string::npos);
  for (const char* w : words) CHECK(st.message().find(w) != std::string::npos);
}

}  // namespace

TEST_CASE("vhd hostile: BAT entry pointing past the end of the file", "[vhd][hostile]") {
  auto built = test::build_dynamic_vhd(spec());
  detail::store_be32(std::span(built.bytes).subspan(built.table_offset + 4), 0x00FFFFFF);
  expect(open_status(built.bytes), Errc::corrupt, {"vhd", "BAT", "entry 1", "offset"});
}

TEST_CASE("vhd hostile: BAT entry overlapping the dynamic header", "[vhd][hostile]") {
  auto built = test::build_dynamic_vhd(spec());
  detail::store_be32(std::span(built.bytes).subspan(built.table_offset), 2);  // sector 2 = 1024
  expect(open_status(built.bytes), Errc::corrupt, {"BAT", "overlaps"});
}

TEST_CASE("vhd hostile: BAT entry pointing into the footer copy", "[vhd][hostile]") {
  auto built = test::build_dynamic_vhd(spec());
  detail::store_be32(std::span(built.bytes).subspan(built.table_offset), 0);
  expect(open_status(built.bytes), Errc::corrupt, {"BAT", "entry 0"});
}

TEST_CASE("vhd hostile: two BAT entries sharing a block", "[vhd][hostile]") {
  auto built = test::build_dynamic_vhd(spec());
  const std::uint32_t first = detail::load_be32(std::span(built.bytes).subspan(built.table_offset));
  detail::store_be32(std::span(built.bytes).subspan(built.table_offset + 8), first + 1);
  expect(open_status(built.bytes), Errc::corrupt, {"BAT", "expected to start after"});
}

TEST_CASE("vhd hostile: table offset outside the file", "[vhd][hostile]") {
  auto b = test::build_dynamic_vhd(spec()).bytes;
  detail::store_be64(std::span(b).subspan(512 + kDynOffTableOffset), 1ull << 40);
  test::reseal_vhd(b);
  expect(open_status(b), Errc::corrupt, {"dynamic header", "table offset", "1099511627776"});
}

TEST_CASE("vhd hostile: block size zero", "[vhd][hostile]") {
  expect(open_status(with_header_u32(kDynOffBlockSize, 0)), Errc::corrupt,
         {"block size", "power of two", "found 0"});
}

TEST_CASE("vhd hostile: block size not a power of two", "[vhd][hostile]") {
  expect(open_status(with_header_u32(kDynOffBlockSize, 3000)), Errc::corrupt,
         {"block size", "found 3000"});
}

TEST_CASE("vhd hostile: absurd block size", "[vhd][hostile]") {
  expect(open_status(with_header_u32(kDynOffBlockSize, 0x80000000)), Errc::corrupt,
         {"block size", "2147483648"});
}

TEST_CASE("vhd hostile: BAT too small for the current size", "[vhd][hostile]") {
  expect(open_status(with_header_u32(kDynOffMaxEntries, 3)), Errc::corrupt,
         {"max table entries", "at least 4", "found 3"});
}

TEST_CASE("vhd hostile: absurd max table entries", "[vhd][hostile]") {
  expect(open_status(with_header_u32(kDynOffMaxEntries, 0xFFFFFFFF)), Errc::corrupt,
         {"max table entries", "4294967295"});
}

TEST_CASE("vhd hostile: BAT entries beyond the file for a large claimed table", "[vhd][hostile]") {
  expect(open_status(with_header_u32(kDynOffMaxEntries, 100000)), Errc::corrupt,
         {"table offset", "400000-byte BAT"});
}

TEST_CASE("vhd hostile: current size larger than the BAT covers", "[vhd][hostile]") {
  auto b = test::build_dynamic_vhd(spec()).bytes;
  for (std::size_t at : {std::size_t{0}, b.size() - 512})
    detail::store_be64(std::span(b).subspan(at + kOffCurrentSize), 5 * 4096);
  test::reseal_vhd(b);
  expect(open_status(b), Errc::corrupt, {"max table entries", "current size 20480"});
}

TEST_CASE("vhd hostile: current size beyond the dynamic disk limit", "[vhd][hostile]") {
  auto b = test::build_dynamic_vhd(spec()).bytes;
  for (std::size_t at : {std::size_t{0}, b.size() - 512})
    detail::store_be64(std::span(b).subspan(at + kOffCurrentSize), ~0ull);
  test::reseal_vhd(b);
  expect(open_status(b), Errc::unsupported, {"current size", "2040 GiB"});
}

TEST_CASE("vhd hostile: footer checksum mismatch names the footer offset", "[vhd][hostile]") {
  auto b = test::build_dynamic_vhd(spec()).bytes;
  b[b.size() - 512 + kOffChecksum] ^= std::byte{1};
  expect(open_status(b), Errc::corrupt,
         {"footer", std::to_string(b.size() - 512).c_str(), "checksum expected"});
}

TEST_CASE("vhd hostile: dynamic header checksum mismatch", "[vhd][hostile]") {
  auto b = test::build_dynamic_vhd(spec()).bytes;
  b[512 + kDynOffChecksum] ^= std::byte{1};
  expect(open_status(b), Errc::corrupt, {"dynamic header", "offset 512", "checksum expected"});
}

TEST_CASE("vhd hostile: dynamic header cookie missing", "[vhd][hostile]") {
  auto b = test::build_dynamic_vhd(spec()).bytes;
  b[512] = std::byte{'X'};
  test::reseal_vhd(b);
  expect(open_status(b), Errc::corrupt, {"dynamic header", "cxsparse"});
}

TEST_CASE("vhd hostile: data offset outside the file", "[vhd][hostile]") {
  auto b = test::build_dynamic_vhd(spec()).bytes;
  for (std::size_t at : {std::size_t{0}, b.size() - 512})
    detail::store_be64(std::span(b).subspan(at + kOffDataOffset), 1ull << 50);
  test::reseal_vhd(b);
  expect(open_status(b), Errc::corrupt, {"footer", "data offset"});
}

TEST_CASE("vhd hostile: unknown disk type is unsupported", "[vhd][hostile]") {
  auto b = test::build_dynamic_vhd(spec()).bytes;
  detail::store_be32(std::span(b).subspan(b.size() - 512 + kOffDiskType), 6);
  test::reseal_vhd(b);
  expect(open_status(b), Errc::unsupported, {"disk type", "found 6"});
}

TEST_CASE("vhd hostile: parent locator longer than any path", "[vhd][hostile]") {
  test::DynamicVhdSpec s = spec();
  s.differencing = true;
  s.parent_relative = "base.vhd";
  auto b = test::build_dynamic_vhd(s).bytes;
  detail::store_be32(std::span(b).subspan(512 + kDynOffLocators + kLocOffLength), 0x7FFFFFFF);
  test::reseal_vhd(b);
  vdisk::test::TempDir dir;
  vdisk::test::write_file(dir / "child.vhd", b);
  expect(open_image(dir / "child.vhd").status(), Errc::corrupt, {"parent locator"});
}

TEST_CASE("vhd hostile: truncated dynamic disk", "[vhd][hostile]") {
  auto b = test::build_dynamic_vhd(spec()).bytes;
  for (std::size_t keep :
       {std::size_t{511}, std::size_t{512}, std::size_t{1200}, std::size_t{2048}, b.size() - 600}) {
    std::vector<std::byte> t(b.begin(), b.begin() + static_cast<std::ptrdiff_t>(keep));
    const Status st = open_status(t);
    INFO(keep << ": " << st.to_string());
    CHECK_FALSE(st.ok());
  }
}

TEST_CASE("vhd hostile: fixed footer claiming more data than the file holds", "[vhd][hostile]") {
  auto b = test::build_fixed_vhd(pattern(4096, 3));
  detail::store_be64(std::span(b).subspan(4096 + kOffCurrentSize), 8192);
  test::reseal_vhd(b);
  expect(open_status(b), Errc::corrupt, {"current size 8192", "4096"});
}
