// Differencing VHDs: parent location (W2ru, W2ku, Unicode name), identity, directory rule,
// missing parents, loops, depth, and reads/maps through the chain.
#include <catch2/catch.hpp>

#include "test_support.h"
#include "vdisk/image.h"
#include "vhd_builder.h"

using namespace vdisk;
using vdisk::test::pattern;
using vdisk::test::TempDir;

namespace {

constexpr std::array<std::uint8_t, 16> kBaseId{0xba, 0x5e, 0, 0, 0, 0, 0x40, 0,
                                               0x80, 0,    0, 0, 0, 0, 0,    1};
constexpr std::array<std::uint8_t, 16> kChildId{0xc1, 0x1d, 0, 0, 0, 0, 0x40, 0,
                                                0x80, 0,    0, 0, 0, 0, 0,    2};

test::DynamicVhdSpec base_spec() {
  test::DynamicVhdSpec s;
  s.size = 8 * 4096;
  s.unique_id = kBaseId;
  s.blocks.push_back({0, pattern(4096, 21), {}});
  s.blocks.push_back({2, pattern(4096, 22), {true, false, true, false, true, false, true, false}});
  s.blocks.push_back({5, pattern(4096, 23), {}});
  return s;
}

test::DynamicVhdSpec child_spec() {
  test::DynamicVhdSpec s;
  s.size = 8 * 4096;
  s.differencing = true;
  s.unique_id = kChildId;
  s.parent_id = kBaseId;
  s.blocks.push_back(
      {2, pattern(4096, 31), {false, true, false, false, false, false, false, true}});
  s.blocks.push_back({3, pattern(4096, 32), {}});
  return s;
}

void write(const std::filesystem::path& p, const test::DynamicVhdSpec& s) {
  std::filesystem::create_directories(p.parent_path());
  test::write_file(p, test::build_dynamic_vhd(s).bytes);
}

std::vector<std::byte> read_all(const BlockSource& src) {
  std::vector<std::byte> out(src.size());
  REQUIRE(src.read(0, out).ok());
  return out;
}

}  // namespace

TEST_CASE("vhd: differencing disk reads set sectors from itself and the rest from its parent",
          "[vhd][diff]") {
  TempDir dir;
  write(dir / "base.vhd", base_spec());
  auto c = child_spec();
  c.parent_relative = ".\\base.vhd";
  write(dir / "child.vhd", c);
  auto src = open_image(dir / "child.vhd");
  REQUIRE(src.ok());
  const auto parent_view = test::expected_image(base_spec());
  CHECK(read_all(**src) == test::expected_image(c, parent_view));
}

TEST_CASE("vhd: differencing map takes unallocated and clear-bit ranges from the parent's map",
          "[vhd][diff][map]") {
  TempDir dir;
  write(dir / "base.vhd", base_spec());
  auto c = child_spec();
  c.parent_relative = "base.vhd";
  write(dir / "child.vhd", c);
  auto src = open_image(dir / "child.vhd");
  REQUIRE(src.ok());
  std::vector<Extent> m;
  REQUIRE((*src)->map(0, 8 * 4096, m).ok());
  using K = ExtentKind;
  const std::vector<Extent> want{
      {0, 4096, K::data},             // parent block 0
      {4096, 4096, K::unallocated},   // nobody
      {8192, 512, K::data},           // block 2: parent sector 0
      {8704, 512, K::data},           // child sector 1 (merged: both data)
      {9216, 512, K::data},           // parent sector 2
      {9728, 512, K::zero},           // parent sector 3 clear
      {10240, 512, K::data},          // parent sector 4
      {10752, 512, K::zero},          // parent 5
      {11264, 512, K::data},          // parent 6
      {11776, 512, K::data},          // child 7
      {12288, 4096, K::data},         // child block 3
      {16384, 4096, K::unallocated},  // block 4
      {20480, 4096, K::data},         // parent block 5
      {24576, 8192, K::unallocated},
  };
  std::vector<Extent> merged;
  for (const auto& e : want) append_extent(merged, e);
  CHECK(m == merged);
}

TEST_CASE("vhd: differencing describe lists the parent chain with ids", "[vhd][diff][describe]") {
  TempDir dir;
  write(dir / "base.vhd", base_spec());
  auto mid = child_spec();
  mid.parent_relative = "base.vhd";
  write(dir / "mid.vhd", mid);
  auto top = child_spec();
  top.unique_id[15] = 3;
  top.parent_id = kChildId;
  top.parent_relative = "mid.vhd";
  top.blocks = {};
  write(dir / "top.vhd", top);
  auto src = open_image(dir / "top.vhd");
  REQUIRE(src.ok());
  const Properties p = describe(**src);
  CHECK(p.get("subformat") == "differencing");
  CHECK(p.get("parent_unique_id") == "c11d0000-0000-4000-8000-000000000002");
  const std::string json = p.to_json(0);
  CHECK(json.find("mid.vhd") != std::string::npos);
  CHECK(json.find("base.vhd") != std::string::npos);
  CHECK(json.find("ba5e0000-0000-4000-8000-000000000001") != std::string::npos);
  CHECK(json.find("mid.vhd") < json.find("base.vhd"));
  CHECK(read_all(**src) == test::expected_image(mid, test::expected_image(base_spec())));
}

TEST_CASE("vhd: parent below the child's directory opens through W2ku", "[vhd][diff][locator]") {
  TempDir dir;
  write(dir / "sub" / "base.vhd", base_spec());
  auto c = child_spec();
  c.parent_absolute = (dir / "sub" / "base.vhd").string();
  write(dir / "child.vhd", c);
  auto src = open_image(dir / "child.vhd");
  REQUIRE(src.ok());
  CHECK(read_all(**src) == test::expected_image(c, test::expected_image(base_spec())));
}

TEST_CASE("vhd: parent found through the UTF-16BE parent name when locators are absent",
          "[vhd][diff][locator]") {
  TempDir dir;
  write(dir / "b\xC3\xA4se.vhd", base_spec());
  auto c = child_spec();
  c.parent_unicode = "b\xC3\xA4se.vhd";
  write(dir / "child.vhd", c);
  auto src = open_image(dir / "child.vhd");
  REQUIRE(src.ok());
}

TEST_CASE("vhd: a Windows absolute locator falls back to the file name in the child's directory",
          "[vhd][diff][locator]") {
  TempDir dir;
  write(dir / "base.vhd", base_spec());
  auto c = child_spec();
  c.parent_absolute = "C:\\Hyper-V\\Disks\\base.vhd";
  write(dir / "child.vhd", c);
  auto src = open_image(dir / "child.vhd");
  REQUIRE(src.ok());
}

TEST_CASE("vhd: missing parent is not_found naming the path", "[vhd][diff][hostile]") {
  TempDir dir;
  auto c = child_spec();
  c.parent_relative = "gone.vhd";
  write(dir / "child.vhd", c);
  auto src = open_image(dir / "child.vhd");
  REQUIRE_FALSE(src.ok());
  CHECK(src.status().code() == Errc::not_found);
  CHECK(src.status().message().find("gone.vhd") != std::string::npos);
}

TEST_CASE("vhd: parent with another unique id is refused unless identity is ignored",
          "[vhd][diff][hostile]") {
  TempDir dir;
  auto b = base_spec();
  b.unique_id[15] = 0x77;
  write(dir / "base.vhd", b);
  auto c = child_spec();
  c.parent_relative = "base.vhd";
  write(dir / "child.vhd", c);
  auto src = open_image(dir / "child.vhd");
  REQUIRE_FALSE(src.ok());
  CHECK(src.status().code() == Errc::corrupt);
  CHECK(src.status().message().find("ba5e0000-0000-4000-8000-000000000001") != std::string::npos);
  CHECK(src.status().message().find("ba5e0000-0000-4000-8000-000000000077") != std::string::npos);
  OpenOptions o;
  o.ignore_parent_identity = true;
  CHECK(open_image(dir / "child.vhd", o).ok());
}

TEST_CASE("vhd: parent outside the child's directory is refused unless allowed",
          "[vhd][diff][hostile]") {
  TempDir dir;
  write(dir / "base.vhd", base_spec());
  auto c = child_spec();
  c.parent_relative = "..\\base.vhd";
  write(dir / "kids" / "child.vhd", c);
  auto src = open_image(dir / "kids" / "child.vhd");
  REQUIRE_FALSE(src.ok());
  CHECK(src.status().code() == Errc::corrupt);  // invalid input: vdconvert exit 2
  CHECK(src.status().message().find("outside") != std::string::npos);
  OpenOptions o;
  o.allow_outside_paths = true;
  auto ok = open_image(dir / "kids" / "child.vhd", o);
  REQUIRE(ok.ok());
  CHECK(read_all(**ok) == test::expected_image(c, test::expected_image(base_spec())));
}

TEST_CASE("vhd: a differencing chain that loops is corrupt", "[vhd][diff][hostile]") {
  TempDir dir;
  auto a = child_spec();
  a.unique_id[15] = 0xa;
  a.parent_id = child_spec().unique_id;
  a.parent_id[15] = 0xb;
  a.parent_relative = "b.vhd";
  auto b = child_spec();
  b.unique_id[15] = 0xb;
  b.parent_id = a.unique_id;
  b.parent_relative = "a.vhd";
  write(dir / "a.vhd", a);
  write(dir / "b.vhd", b);
  auto src = open_image(dir / "a.vhd");
  REQUIRE_FALSE(src.ok());
  CHECK(src.status().code() == Errc::corrupt);
  CHECK(src.status().message().find("loop") != std::string::npos);
  // A disk naming itself.
  auto self = child_spec();
  self.parent_id = self.unique_id;
  self.parent_relative = "self.vhd";
  write(dir / "self.vhd", self);
  auto s = open_image(dir / "self.vhd");
  REQUIRE_FALSE(s.ok());
  CHECK(s.status().message().find("loop") != std::string::npos);
}

TEST_CASE("vhd: differencing chains deeper than the cap are refused", "[vhd][diff][hostile]") {
  TempDir dir;
  write(dir / "d0.vhd", base_spec());
  auto prev = base_spec().unique_id;
  for (int i = 1; i <= 40; ++i) {
    auto c = child_spec();
    c.blocks = {};
    c.unique_id[14] = static_cast<std::uint8_t>(i);
    c.parent_id = prev;
    c.parent_relative = "d" + std::to_string(i - 1) + ".vhd";
    write(dir / ("d" + std::to_string(i) + ".vhd"), c);
    prev = c.unique_id;
  }
  auto shallow = open_image(dir / "d20.vhd");
  REQUIRE(shallow.ok());
  auto deep = open_image(dir / "d40.vhd");
  REQUIRE_FALSE(deep.ok());
  CHECK(deep.status().code() == Errc::resource_exhausted);
}

TEST_CASE("vhd: a raw parent works when identity is ignored, and is refused otherwise",
          "[vhd][diff]") {
  TempDir dir;
  const auto raw = pattern(8 * 4096, 44);
  test::write_file(dir / "base.img", raw);
  auto c = child_spec();
  c.parent_relative = "base.img";
  write(dir / "child.vhd", c);
  auto refused = open_image(dir / "child.vhd");
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.status().code() == Errc::unsupported);
  OpenOptions o;
  o.ignore_parent_identity = true;
  auto src = open_image(dir / "child.vhd", o);
  REQUIRE(src.ok());
  CHECK(read_all(**src) == test::expected_image(c, raw));
}

TEST_CASE("vhd: a differencing disk opened from memory without a path is not_found",
          "[vhd][diff][hostile]") {
  auto c = child_spec();
  c.parent_relative = "base.vhd";
  auto src = open_image(memory_file(test::build_dynamic_vhd(c).bytes), {}, {});
  REQUIRE_FALSE(src.ok());
  CHECK(src.status().code() == Errc::not_found);
}
