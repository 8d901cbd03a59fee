// SESPARSE extents: builder-made files as seSparse deltas over a flat base (every grain type),
// compared with the expected content and with qemu-img's raw view; hostile headers.
#include <catch2/catch.hpp>

#include <cstring>

#include <fmt/format.h>

#include "test_support.h"
#include "base/endian.h"
#include "vdisk/image.h"
#include "vdisk/pipeline.h"
#include "formats/vmdk/vmdk_format.h"
#include "vmdk_builder.h"

using namespace vdisk;
using namespace vdisk::vmdk::test;
using vdisk::test::pattern;
using vdisk::test::read_file;
using vdisk::test::run;
using vdisk::test::TempDir;
using vdisk::test::write_file;

namespace {

inline bool same_bytes(const std::vector<std::byte>& a, const std::vector<std::byte>& b) {
  return a == b;
}
constexpr std::size_t kGrain = 4096;

std::vector<std::byte> ours(const std::filesystem::path& p) {
  auto src = open_image(p);
  INFO(src.status().to_string());
  REQUIRE(src.ok());
  vdisk::test::RecordingSink sink;
  PipelineOptions o;
  o.threads = 2;
  o.chunk_bytes = 96 * 1024;
  auto st = copy(**src, sink, o);
  INFO(st.status().to_string());
  REQUIRE(st.ok());
  return sink.image;
}

// base-flat.vmdk (pattern) + top.vmdk (seSparse over it, CID link).
void write_chain(const TempDir& dir, const std::vector<std::byte>& base, const SeSparseBuild& b) {
  const std::uint64_t sectors = base.size() / 512;
  write_file(dir / "base-flat.vmdk", base);
  const std::string bd = fmt::format("# Disk DescriptorFile\nversion=1\nCID=0000000a\nparentCID=ffffffff\n"
                                     "createType=\"monolithicFlat\"\nRW {} FLAT \"base-flat.vmdk\" 0\n",
                                     sectors);
  write_file(dir / "base.vmdk", std::as_bytes(std::span(bd)));
  write_file(dir / "top-sesparse.vmdk", build_sesparse(b));
  const std::string td = fmt::format("# Disk DescriptorFile\nversion=1\nCID=0000000b\nparentCID=0000000a\n"
                                     "createType=\"seSparse\"\nparentFileNameHint=\"base.vmdk\"\n"
                                     "RW {} SESPARSE \"top-sesparse.vmdk\"\n",
                                     sectors);
  write_file(dir / "top.vmdk", std::as_bytes(std::span(td)));
}

}  // namespace

TEST_CASE("vmdk sesparse: every grain type, over a parent, like qemu-img", "[vmdk][sesparse][qemu]") {
  TempDir dir;
  // 20 MiB + 4 KiB: two grain tables; data, holes, each grain type.
  const auto base = pattern(20 * 1024 * 1024 + kGrain, 8);
  auto top = pattern(base.size(), 9);
  std::memset(top.data() + 10 * kGrain, 0, 300 * kGrain);  // zero and unallocated: parent shows
  SeSparseBuild b;
  b.content = top;
  b.skip = {0, 4100};
  b.zero = {1, 5000};
  b.unmapped = {2};
  write_chain(dir, base, b);
  auto want = top;
  for (std::size_t g = 0; g < want.size() / kGrain; ++g) {
    const bool from_parent = b.skip.count(g) || (g >= 10 && g < 310);
    const bool zeros = b.zero.count(g) || b.unmapped.count(g);
    if (from_parent) std::memcpy(want.data() + g * kGrain, base.data() + g * kGrain, kGrain);
    if (zeros) std::memset(want.data() + g * kGrain, 0, kGrain);
  }
  const auto mine = ours(dir / "top.vmdk");
  CHECK(same_bytes(mine, want));
  const auto q = dir / "q.raw";
  REQUIRE(run(fmt::format("qemu-img convert -O raw '{}' '{}'", (dir / "top.vmdk").string(), q.string())) == 0);
  CHECK(same_bytes(mine, read_file(q)));
  auto src = open_image(dir / "top.vmdk");
  REQUIRE(src.ok());
  std::vector<Extent> m;
  REQUIRE((*src)->map(0, 8 * kGrain, m).ok());
  REQUIRE(m.size() >= 3);
  CHECK(m[1] == Extent{kGrain, 2 * kGrain, ExtentKind::zero});  // zero and unmapped grains
}

TEST_CASE("vmdk sesparse: hostile headers and tables", "[vmdk][sesparse][hostile]") {
  TempDir dir;
  const auto base = pattern(1024 * 1024, 8);
  SeSparseBuild b;
  b.content = pattern(base.size(), 2);
  SECTION("dirty journal is refused") {
    b.dirty = true;
    write_chain(dir, base, b);
    CHECK(open_image(dir / "top.vmdk").status().code() == Errc::unsupported);
  }
  SECTION("bad grain size") {
    write_chain(dir, base, b);
    auto f = read_file(dir / "top-sesparse.vmdk");
    f[24] = std::byte{16};
    write_file(dir / "top-sesparse.vmdk", f);
    CHECK(open_image(dir / "top.vmdk").status().code() == Errc::unsupported);
  }
  SECTION("grain directory entry of a wrong kind, grain past the end") {
    write_chain(dir, base, b);
    auto f = read_file(dir / "top-sesparse.vmdk");
    auto bad = f;
    detail::store_le64(std::span(bad).subspan(4 * 512), 0x2000000000000000ull);
    write_file(dir / "top-sesparse.vmdk", bad);
    auto src = open_image(dir / "top.vmdk");
    REQUIRE(src.ok());
    std::vector<std::byte> buf(kGrain);
    CHECK((*src)->read(0, buf).code() == Errc::corrupt);
    bad = f;
    std::filesystem::resize_file(dir / "top-sesparse.vmdk", 0);
    write_file(dir / "top-sesparse.vmdk", std::span(f).first(f.size() - 100 * kGrain));
    auto src2 = open_image(dir / "top.vmdk");
    REQUIRE(src2.ok());
    std::vector<std::byte> all(base.size());
    CHECK((*src2)->read(0, all).code() == Errc::corrupt);
  }
}
