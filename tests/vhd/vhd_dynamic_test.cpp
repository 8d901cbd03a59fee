// Dynamic VHD reading: data from allocated blocks by sector bitmap, exact extent maps, window
// by window, concurrent reads, describe().
#include <catch2/catch.hpp>

#include <thread>

#include "test_support.h"
#include "vdisk/image.h"
#include "vhd_builder.h"

using namespace vdisk;
using vdisk::test::pattern;

namespace {

// 10 blocks of 4 KiB (8 sectors); the last block half inside the disk.
test::DynamicVhdSpec sample_spec() {
  test::DynamicVhdSpec s;
  s.size = 9 * 4096 + 2048;
  s.block_size = 4096;
  s.blocks.push_back({1, pattern(4096, 1), {}});  // full
  s.blocks.push_back({3, pattern(4096, 2), {true, true, false, false, true, false, false, true}});
  s.blocks.push_back({4, pattern(4096, 3), std::vector<bool>(8, false)});  // all clear
  s.blocks.push_back({9, pattern(4096, 4), {}});                           // partial
  return s;
}

Result<std::unique_ptr<BlockSource>> open_bytes(std::vector<std::byte> b, OpenOptions o = {}) {
  return open_image(memory_file(std::move(b), "<test.vhd>"), {}, o);
}

}  // namespace

TEST_CASE("vhd: dynamic disk reads allocated sectors and zeros elsewhere", "[vhd][dynamic]") {
  const auto spec = sample_spec();
  auto src = open_bytes(test::build_dynamic_vhd(spec).bytes);
  REQUIRE(src.ok());
  REQUIRE((*src)->size() == spec.size);
  const auto want = test::expected_image(spec);
  std::vector<std::byte> got(spec.size);
  REQUIRE((*src)->read(0, got).ok());
  CHECK(got == want);
  // Unaligned pieces, across block boundaries.
  for (std::uint64_t off : {1ull, 4095ull, 4097ull, 12800ull, 13000ull, 30000ull}) {
    std::vector<std::byte> part(std::min<std::uint64_t>(5000, spec.size - off));
    REQUIRE((*src)->read(off, part).ok());
    CHECK(std::equal(part.begin(), part.end(), want.begin() + static_cast<std::ptrdiff_t>(off)));
  }
}

TEST_CASE("vhd: dynamic map reports unallocated blocks, clear bits as zero, set bits as data",
          "[vhd][dynamic][map]") {
  const auto spec = sample_spec();
  auto src = open_bytes(test::build_dynamic_vhd(spec).bytes);
  REQUIRE(src.ok());
  std::vector<Extent> m;
  REQUIRE((*src)->map(0, spec.size, m).ok());
  using K = ExtentKind;
  const std::vector<Extent> want{
      {0, 4096, K::unallocated},
      {4096, 4096, K::data},
      {8192, 4096, K::unallocated},
      {12288, 1024, K::data},             // block 3 sectors 0-1
      {13312, 1024, K::zero},             // sectors 2-3
      {14336, 512, K::data},              // sector 4
      {14848, 1024, K::zero},             // sectors 5-6
      {15872, 512, K::data},              // sector 7
      {16384, 4096, K::zero},             // block 4, all bits clear
      {20480, 4 * 4096, K::unallocated},  // blocks 5-8
      {36864, 2048, K::data},             // block 9, inside the disk
  };
  CHECK(m == want);
}

TEST_CASE("vhd: dynamic map window by window merges to the whole-disk map", "[vhd][dynamic][map]") {
  const auto spec = sample_spec();
  auto src = open_bytes(test::build_dynamic_vhd(spec).bytes);
  REQUIRE(src.ok());
  std::vector<Extent> whole;
  REQUIRE((*src)->map(0, spec.size, whole).ok());
  for (std::uint64_t window : {512ull, 1000ull, 3000ull, 4096ull, 7777ull}) {
    std::vector<Extent> parts;
    for (std::uint64_t off = 0; off < spec.size; off += window) {
      std::vector<Extent> w;
      const std::uint64_t len = std::min(window, spec.size - off);
      REQUIRE((*src)->map(off, len, w).ok());
      std::uint64_t covered = 0;
      for (const auto& e : w) covered += e.length;
      CHECK(covered == len);
      for (const auto& e : w) append_extent(parts, e);
    }
    CHECK(parts == whole);
  }
}

TEST_CASE("vhd: dynamic reads are safe from several threads", "[vhd][dynamic][threads]") {
  const auto spec = sample_spec();
  auto src = open_bytes(test::build_dynamic_vhd(spec).bytes);
  REQUIRE(src.ok());
  const auto want = test::expected_image(spec);
  std::atomic<int> mismatches{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        const std::uint64_t off = static_cast<std::uint64_t>((i * 977 + t * 131) % 30000);
        std::vector<std::byte> part(3000);
        if (!(*src)->read(off, part).ok() ||
            !std::equal(part.begin(), part.end(), want.begin() + static_cast<std::ptrdiff_t>(off)))
          ++mismatches;
      }
    });
  for (auto& th : threads) th.join();
  CHECK(mismatches == 0);
}

TEST_CASE("vhd: dynamic describe reports subformat, blocks, creator, geometry, id",
          "[vhd][dynamic][describe]") {
  const auto spec = sample_spec();
  auto src = open_bytes(test::build_dynamic_vhd(spec).bytes);
  REQUIRE(src.ok());
  const Properties p = describe(**src);
  CHECK(p.get("format") == "vhd");
  CHECK(p.get("subformat") == "dynamic");
  CHECK(p.get("block_size") == "4096");
  CHECK(p.get("bat_entries") == "10");
  CHECK(p.get("allocated_blocks") == "4");
  CHECK(p.get("creator") == "test");
  CHECK(p.get("creator_version") == "1.2");
  CHECK(p.get("unique_id") == "d1000000-0000-4000-8000-000000000001");
  CHECK(p.get("timestamp") == "2023-10-07T13:20:00Z");
  REQUIRE(p.get_object("geometry") != nullptr);
  CHECK(p.get_object("geometry")->get("sectors") == "17");
}

TEST_CASE("vhd: dynamic disk with a 2 MiB block size and sector-exact reads", "[vhd][dynamic]") {
  test::DynamicVhdSpec s;
  s.size = 5ull << 20;
  s.block_size = 2u << 20;
  std::vector<bool> present(4096, false);
  for (std::size_t i = 100; i < 2000; i += 3) present[i] = true;
  s.blocks.push_back({2, pattern(2u << 20, 9), present});
  s.blocks.push_back({0, pattern(2u << 20, 8), {}});
  auto src = open_bytes(test::build_dynamic_vhd(s).bytes);
  REQUIRE(src.ok());
  std::vector<std::byte> got(s.size);
  REQUIRE((*src)->read(0, got).ok());
  CHECK(got == test::expected_image(s));
  std::vector<Extent> m;
  REQUIRE((*src)->map(0, s.size, m).ok());
  std::uint64_t data = 0;
  for (const auto& e : m)
    if (e.kind == ExtentKind::data) data += e.length;
  CHECK(data == (2u << 20) + 634 * 512);
}

TEST_CASE("vhd: a dynamic disk without its end footer opens from the copy at 0 with a warning",
          "[vhd][dynamic]") {
  const auto spec = sample_spec();
  auto b = test::build_dynamic_vhd(spec).bytes;
  std::fill(b.end() - 512, b.end(), std::byte{0});
  std::vector<std::string> notes;
  OpenOptions o;
  o.on_diagnostic = [&](const Diagnostic& d) { notes.push_back(d.message); };
  auto src = open_bytes(b, o);
  REQUIRE(src.ok());
  REQUIRE(notes.size() == 1);
  CHECK(notes[0].find("footer copy at offset 0") != std::string::npos);
  std::vector<std::byte> got(spec.size);
  REQUIRE((*src)->read(0, got).ok());
  CHECK(got == test::expected_image(spec));
}

TEST_CASE("vhd: dynamic reads and maps outside the disk fail with out_of_range", "[vhd][dynamic]") {
  const auto spec = sample_spec();
  auto src = open_bytes(test::build_dynamic_vhd(spec).bytes);
  REQUIRE(src.ok());
  std::vector<std::byte> buf(10);
  CHECK((*src)->read(spec.size - 5, buf).code() == Errc::out_of_range);
  std::vector<Extent> m;
  CHECK((*src)->map(spec.size, 1, m).code() == Errc::out_of_range);
}
