// Fixed VHD writer: data, padding, footer, file size, sparseness; and reading it back.
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <cstring>

#include "test_support.h"
#include "vdisk/image.h"
#include "formats/vhd/vhd.h"
#include "formats/vhd/vhd_footer.h"

using namespace vdisk;
using namespace vdisk::vhd;
using vdisk::test::pattern;
using vdisk::test::TempDir;

namespace {
constexpr std::uint64_t MiB = 1 << 20;

std::unique_ptr<BlockSink> file_vhd_sink(const std::filesystem::path& p, SizeRule rule) {
  FileSinkOptions fo;
  fo.sync = false;
  auto out = create_file_sink(p, fo);
  REQUIRE(out.ok());
  FixedSinkOptions o;
  o.rule = rule;
  o.timestamp = 12345;
  o.unique_id[0] = 0x42;
  return make_fixed_sink(std::move(*out), o);
}
}  // namespace

TEST_CASE("vhd: azure sink writes data, zero padding and a valid footer, N MiB + 512 bytes",
          "[vhd][sink]") {
  TempDir dir;
  const auto data = pattern(3 * MiB + 700, 5);
  {
    // The sink never pads: a disk that ends where the rule gives no size is refused.
    auto unpadded = file_vhd_sink(dir / "u.vhd", azure_rule());
    REQUIRE(unpadded->write(0, data).ok());
    CHECK(unpadded->finish().code() == Errc::internal);
  }
  CHECK_FALSE(std::filesystem::exists(dir / "u.vhd"));
  auto sink = file_vhd_sink(dir / "a.vhd", azure_rule());
  REQUIRE(sink->write(0, std::span(data).first(MiB)).ok());
  REQUIRE(sink->write_zeroes(MiB, MiB).ok());
  REQUIRE(sink->write(2 * MiB, std::span(data).subspan(2 * MiB)).ok());
  // The padding, as the target layer's view hands it over.
  REQUIRE(sink->write_zeroes(data.size(), 20 * MiB - data.size()).ok());
  REQUIRE(sink->finish().ok());

  const auto out = vdisk::test::read_file(dir / "a.vhd");
  REQUIRE(out.size() == 20 * MiB + 512);
  CHECK(std::memcmp(out.data(), data.data(), MiB) == 0);
  CHECK(std::all_of(out.begin() + MiB, out.begin() + 2 * MiB,
                    [](std::byte b) { return b == std::byte{0}; }));
  CHECK(std::memcmp(out.data() + 2 * MiB, data.data() + 2 * MiB, data.size() - 2 * MiB) == 0);
  CHECK(std::all_of(out.begin() + static_cast<std::ptrdiff_t>(data.size()), out.end() - 512,
                    [](std::byte b) { return b == std::byte{0}; }));
  const std::span<const std::byte> footer(out.data() + 20 * MiB, 512);
  auto f = decode_footer(footer, 20 * MiB);
  REQUIRE(f.ok());
  CHECK(f->checksum == footer_checksum(footer));
  CHECK(f->current_size == 20 * MiB);
  CHECK(f->original_size == 20 * MiB);
  CHECK(f->disk_type == 2);
  CHECK(f->data_offset == kNoDataOffset);
  CHECK(f->features == 2);
  CHECK(f->timestamp == 12345);
  CHECK(f->unique_id[0] == 0x42);
  CHECK(f->geometry == chs_for_size(20 * MiB));
  CHECK(qemu_visible_size(*f) == 20 * MiB);

  struct stat st {};
  REQUIRE(::stat((dir / "a.vhd").c_str(), &st) == 0);
  CHECK(static_cast<std::uint64_t>(st.st_blocks) * 512 < 10 * MiB);  // padding is a hole
}

TEST_CASE("vhd: plain sink keeps the exact sector-aligned size", "[vhd][sink]") {
  TempDir dir;
  const auto data = pattern(3 * MiB + 512, 6);
  auto sink = file_vhd_sink(dir / "p.vhd", plain_rule());
  REQUIRE(sink->write(0, data).ok());
  REQUIRE(sink->finish().ok());
  const auto out = vdisk::test::read_file(dir / "p.vhd");
  REQUIRE(out.size() == data.size() + 512);
  auto f = decode_footer(std::span(out).subspan(data.size()), data.size());
  REQUIRE(f.ok());
  CHECK(f->current_size == data.size());
}

TEST_CASE("vhd: a written fixed VHD opens back with its data and describe facts",
          "[vhd][sink][fixed]") {
  TempDir dir;
  const auto data = pattern(21 * MiB, 7);
  auto sink = file_vhd_sink(dir / "r.vhd", azure_rule());
  REQUIRE(sink->write(0, data).ok());
  REQUIRE(sink->finish().ok());
  auto src = open_image(dir / "r.vhd");
  REQUIRE(src.ok());
  CHECK((*src)->format() == "vhd");
  REQUIRE((*src)->size() == data.size());
  std::vector<std::byte> back(data.size());
  REQUIRE((*src)->read(0, back).ok());
  CHECK(back == data);
  const Properties p = describe(**src);
  CHECK(p.get("subformat") == "fixed");
  CHECK(p.get("creator") == "win ");
  CHECK(p.get("unique_id") == "42000000-0000-0000-0000-000000000000");
  CHECK(p.get("timestamp") == "2000-01-01T03:25:45Z");
  CHECK(p.get("saved_state") == "false");
}

TEST_CASE("vhd: azure sink refuses writes beyond 32 TiB", "[vhd][sink]") {
  std::vector<std::byte> mem;
  FixedSinkOptions o;
  o.rule = azure_rule();
  auto sink = make_fixed_sink(memory_sink(&mem), o);
  auto st = sink->write_zeroes(0, (32ull << 40) + MiB);
  CHECK(st.code() == Errc::invalid_argument);
  CHECK(mem.empty());
}
