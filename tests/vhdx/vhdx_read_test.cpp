// Reading well-formed VHDX images made by the test builder: every payload block state, block
// and sector sizes (the chunk ratio's interleaved bitmap slots), fixed disks, describe(), and
// a cross-check of the builder against qemu-img. qemu-made images: interop.vhdx_read.
#include <cstdlib>

#include "test_support.h"
#include "vhdx_test_util.h"

using namespace vdisk;
using namespace vdisk::test;

namespace {
constexpr std::uint64_t kMiB = 1u << 20;
}

TEST_CASE("vhdx: every payload state reads and maps exactly", "[vhdx]") {
  VhdxSpec spec;
  spec.virtual_size = 8 * kMiB;
  VhdxBuilder b(spec);
  const Bytes b0 = pattern(kMiB, 1), b3 = pattern(kMiB, 2), b4 = pattern(kMiB, 3);
  const std::uint64_t h0 = b.add_block(0, b0);
  b.add_block(3, b3);
  b.add_block(4, b4);  // right after block 3 in the file: one data extent
  b.set_state(1, 1);   // undefined
  b.set_state(2, 2);   // zero
  b.set_state(5, 3);   // unmapped
  b.set_state(6, 5);   // the v0.95 draft's unmapped
  const Bytes img = b.bytes();
  auto s = open_bytes(img);
  CHECK(s->format() == "vhdx");
  CHECK(s->size() == 8 * kMiB);
  CHECK(read_all(*s) == expected_disk(8 * kMiB, kMiB, {{0, b0}, {3, b3}, {4, b4}}));
  const auto m = map_all(*s);
  REQUIRE(m.size() == 4);
  CHECK(m[0].offset == 0);
  CHECK(m[0].length == kMiB);
  CHECK(m[0].kind == ExtentKind::data);
  CHECK(m[1].kind == ExtentKind::zero);
  CHECK(m[1].length == 2 * kMiB);
  CHECK(m[2].kind == ExtentKind::data);
  CHECK(m[2].offset == 3 * kMiB);
  CHECK(m[2].length == 2 * kMiB);
  CHECK(m[3].kind == ExtentKind::zero);
  CHECK(m[3].length == 3 * kMiB);
  // An unaligned read across a block boundary.
  Bytes part(5000);
  REQUIRE(s->read(kMiB - 1000, part).ok());
  CHECK(std::equal(part.begin(), part.begin() + 1000, b0.end() - 1000));
  CHECK(
      std::all_of(part.begin() + 1000, part.end(), [](std::byte x) { return x == std::byte{0}; }));
  const Properties p = describe(*s);
  CHECK(p.get("subformat") == "dynamic");
  CHECK(p.get("block_size") == "1048576");
  CHECK(p.get("log") == "empty");
  CHECK(p.get("creator") == "vdisk test builder");
  CHECK(p.get("data_write_guid") == "{03020111-0504-0706-0809-0a0b0c0d0e0f}");
  CHECK(h0 % kMiB == 0);
}

TEST_CASE("vhdx: BAT indices skip the sector bitmap slots (chunk ratio)", "[vhdx]") {
  // 128 MiB blocks with 512-byte sectors: 32 payload entries per chunk, so block 32 is entry 33.
  VhdxSpec spec;
  spec.block_size = 128 * kMiB;
  spec.virtual_size = 33 * 128 * kMiB;
  VhdxBuilder b(spec);
  REQUIRE(b.chunk_ratio() == 32);
  REQUIRE(b.bat_index(32) == 33);
  const Bytes d32 = pattern(4096, 7);
  b.add_block(32, d32);
  auto r = open_image(memory_file(b.bytes(), "<test.vhdx>"), {}, {});
  REQUIRE(r.ok());
  const BlockSource& s = **r;
  Bytes got(4096);
  REQUIRE(s.read(32 * 128 * kMiB, got).ok());
  CHECK(got == d32);
  const auto m = map_all(s);
  REQUIRE(m.size() == 2);
  CHECK(m[0].kind == ExtentKind::zero);
  CHECK(m[0].length == 32 * 128 * kMiB);
  CHECK(m[1].kind == ExtentKind::data);
  CHECK(m[1].length == 128 * kMiB);
}

TEST_CASE("vhdx: 4096-byte logical sectors change the chunk ratio", "[vhdx]") {
  VhdxSpec spec;
  spec.logical_sector = 4096;
  spec.block_size = 32 * kMiB;
  spec.virtual_size = 64 * kMiB;
  VhdxBuilder b(spec);
  REQUIRE(b.chunk_ratio() == 1024);
  const Bytes d1 = pattern(8192, 9);
  b.add_block(1, d1);
  auto s = open_bytes(b.bytes());
  CHECK(read_all(*s) == expected_disk(64 * kMiB, 32 * kMiB, {{1, d1}}));
  CHECK(describe(*s).get("logical_sector_size") == "4096");
}

TEST_CASE("vhdx: a fixed disk reads through its BAT", "[vhdx]") {
  VhdxSpec spec;
  spec.leave_allocated = true;
  spec.virtual_size = 3 * kMiB;
  VhdxBuilder b(spec);
  std::vector<std::pair<std::uint64_t, Bytes>> blocks;
  for (std::uint64_t i = 0; i < 3; ++i) {
    blocks.emplace_back(i, pattern(kMiB, static_cast<std::uint32_t>(10 + i)));
    b.add_block(i, blocks.back().second);
  }
  auto s = open_bytes(b.bytes());
  CHECK(read_all(*s) == expected_disk(3 * kMiB, kMiB, blocks));
  CHECK(describe(*s).get("subformat") == "fixed");
  const auto m = map_all(*s);
  REQUIRE(m.size() == 1);
  CHECK(m[0].kind == ExtentKind::data);
}

// qemu-img's fixed disks (block_state_zero=off) end where the virtual disk ends: a disk whose
// size is not a whole number of blocks has a last block that lies only partly inside the file.
// That block is read for its bytes inside the disk; any other block must lie wholly inside.
TEST_CASE("vhdx: a last block partly past the end of the file reads its bytes in the disk",
          "[vhdx]") {
  VhdxSpec spec;
  spec.leave_allocated = true;
  spec.virtual_size = 2 * kMiB + kMiB / 2;
  const auto build = [&](std::initializer_list<std::uint64_t> order) {
    VhdxBuilder b(spec);
    std::vector<std::pair<std::uint64_t, Bytes>> blocks;
    for (std::uint64_t i : order) {
      blocks.emplace_back(i, pattern(kMiB, static_cast<std::uint32_t>(20 + i)));
      b.add_block(i, blocks.back().second);
    }
    return std::make_pair(b.bytes(), expected_disk(spec.virtual_size, kMiB, blocks));
  };
  SECTION("the last block, cut where the disk ends, reads exactly") {
    auto [img, want] = build({0, 1, 2});  // block 2 is the file's last MiB
    img.resize(img.size() - kMiB / 2);
    auto s = open_bytes(img);
    CHECK(read_all(*s) == want);
    const auto m = map_all(*s);
    REQUIRE(m.size() == 1);
    CHECK(m[0].kind == ExtentKind::data);
    CHECK(m[0].length == spec.virtual_size);
  }
  SECTION("the last block cut short of the disk's end is refused") {
    auto [img, want] = build({0, 1, 2});
    img.resize(img.size() - kMiB / 2 - 512);
    auto r = try_open(img);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == Errc::corrupt);
    CHECK(r.status().message().find("entry 2 ") != std::string::npos);
    CHECK(r.status().message().find("truncated") != std::string::npos);
  }
  SECTION("any other block ending past the end of the file is refused") {
    auto [img, want] = build({2, 0, 1});  // block 1 is the file's last MiB
    img.resize(img.size() - kMiB / 2);
    auto r = try_open(img);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == Errc::corrupt);
    CHECK(r.status().message().find("entry 1 ") != std::string::npos);
    CHECK(r.status().message().find("truncated") != std::string::npos);
  }
}

TEST_CASE("vhdx: qemu-img reads the builder's images as libvdisk does", "[vhdx][qemu]") {
  if (run("command -v qemu-img > /dev/null") != 0) {
    WARN("qemu-img is not installed; skipped");
    return;
  }
  TempDir dir;
  for (std::uint32_t bs : {1u << 20, 8u << 20}) {
    VhdxSpec spec;
    spec.block_size = bs;
    spec.virtual_size = 24 * kMiB + 4096;
    spec.required_regions = false;
    VhdxBuilder b(spec);
    b.add_block(0, pattern(bs, 1));
    b.add_block(2, pattern(bs / 2, 2));
    b.set_state(1, 2);
    const Bytes img = b.bytes();
    write_file(dir / "b.vhdx", img);
    REQUIRE(run("qemu-img convert -f vhdx -O raw '" + (dir / "b.vhdx").string() + "' '" +
                (dir / "q.raw").string() + "'") == 0);
    auto s = open_bytes(img);
    write_file(dir / "v.raw", read_all(*s));
    CHECK(sha256_file(dir / "v.raw") == sha256_file(dir / "q.raw"));
  }
}

// Writes the fuzz seeds when VHDX_SEED_DIR names a directory (hidden); each file is then
// encoded for fuzz/corpus/vhdx/ by fuzz/tools/sparse_seed.py (fuzz/sparse_input.h).
TEST_CASE("vhdx: write fuzz seeds", "[.seeds]") {
  const char* dir = std::getenv("VHDX_SEED_DIR");
  if (!dir) return;
  const std::filesystem::path out(dir);
  auto cut = [](Bytes b, std::uint64_t n) {
    b.resize(static_cast<std::size_t>(n));
    return b;
  };
  {  // dynamic, no stored block: states only; the file ends after the metadata items
    VhdxSpec spec;
    spec.virtual_size = 4 * kMiB;
    VhdxBuilder b(spec);
    b.set_state(1, 2);
    b.set_state(2, 3);
    write_file(out / "dynamic-states.vhdx", cut(b.bytes(), b.item_offset(5)));
  }
  {  // one block of 4096-byte sectors
    VhdxSpec spec;
    spec.virtual_size = 2 * kMiB;
    spec.logical_sector = 4096;
    VhdxBuilder b(spec);
    b.add_block(1, pattern(8192, 3));
    write_file(out / "block-4k.vhdx", b.bytes());
  }
  {  // a pending log of two entries, the first wrapping
    VhdxSpec spec;
    spec.virtual_size = 2 * kMiB;
    VhdxBuilder b(spec);
    const std::uint64_t h = b.add_block(0, pattern(4096, 4));
    VhdxLog log;
    log.sectors = {VhdxBuilder::kBatOffset, h};
    log.zeros = {{h + 8192, 8192}};
    log.entries = 2;
    log.start = VhdxBuilder::kLogLength - 4096;
    b.set_log(log);
    write_file(out / "log.vhdx", b.bytes());
  }
  {  // differencing: a partially present block and its sector bitmap
    VhdxSpec spec;
    spec.virtual_size = kMiB;
    spec.has_parent = true;
    spec.locator = {{"parent_linkage", "{03020111-0504-0706-0809-0a0b0c0d0e0f}"},
                    {"relative_path", "p.vhdx"}};
    VhdxBuilder b(spec);
    std::vector<bool> present(kMiB / 512);
    present[3] = true;
    b.add_partial(0, pattern(4096, 5), present);
    write_file(out / "differencing.vhdx", b.bytes());
  }
}
