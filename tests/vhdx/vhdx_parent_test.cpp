// Differencing disks: sectors of a partially present block from the sector bitmap, the rest
// from the parent; the parent locator's paths under the directory rule, the parent identity
// (parent_linkage against the parent's DataWriteGuid) and its override, loops.
#include "test_support.h"
#include "vhdx_test_util.h"

using namespace vdisk;
using namespace vdisk::test;

namespace {

constexpr std::uint64_t kMiB = 1u << 20;
// The default builder DataWriteGuid, as text.
const std::string kParentLinkage = "{03020111-0504-0706-0809-0a0b0c0d0e0f}";

struct Family {
  Bytes parent_disk;
  Bytes child_disk;
};

VhdxSpec child_spec(std::vector<std::pair<std::string, std::string>> locator) {
  VhdxSpec s;
  s.virtual_size = 4 * kMiB;
  s.has_parent = true;
  s.locator = std::move(locator);
  s.data_write[0] = 0x99;
  return s;
}

// Writes p.vhdx and c.vhdx (naming p.vhdx by `locator`) in `dir`; returns what they read as.
Family make_family(const std::filesystem::path& dir,
                   std::vector<std::pair<std::string, std::string>> locator,
                   const std::string& parent_name = "p.vhdx") {
  VhdxSpec ps;
  ps.virtual_size = 4 * kMiB;
  VhdxBuilder pb(ps);
  const Bytes p0 = pattern(kMiB, 20), p1 = pattern(kMiB, 21), p3 = pattern(kMiB, 23);
  pb.add_block(0, p0);
  pb.add_block(1, p1);
  pb.add_block(3, p3);
  write_file(dir / parent_name, pb.bytes());
  VhdxBuilder cb(child_spec(std::move(locator)));
  const Bytes c0 = pattern(kMiB, 30), c1 = pattern(kMiB, 31);
  cb.add_block(0, c0);
  std::vector<bool> present(kMiB / 512);
  for (std::size_t i = 0; i < 8; ++i) present[i] = true;  // the first 4 KiB
  present[100] = true;                                    // and sector 100
  cb.add_partial(1, c1, present);
  cb.set_state(2, 2);  // zero, whatever the parent holds
  // block 3: not present -> the parent's
  write_file(dir / "c.vhdx", cb.bytes());
  Family f;
  f.parent_disk = expected_disk(4 * kMiB, kMiB, {{0, p0}, {1, p1}, {3, p3}});
  f.child_disk = f.parent_disk;
  std::copy(c0.begin(), c0.end(), f.child_disk.begin());
  std::copy_n(c1.begin(), 4096, f.child_disk.begin() + kMiB);
  std::copy_n(c1.begin() + 100 * 512, 512, f.child_disk.begin() + kMiB + 100 * 512);
  std::fill_n(f.child_disk.begin() + 2 * kMiB, kMiB, std::byte{0});
  return f;
}

Result<std::unique_ptr<BlockSource>> open_path(const std::filesystem::path& p, OpenOptions o = {}) {
  return open_image(p, o);
}

}  // namespace

TEST_CASE("vhdx: a differencing disk reads its parent where it stores nothing", "[vhdx][parent]") {
  TempDir dir;
  const Family f =
      make_family(dir.path(), {{"parent_linkage", kParentLinkage}, {"relative_path", ".\\p.vhdx"}});
  auto s = open_path(dir / "c.vhdx");
  INFO(s.status().to_string());
  REQUIRE(s.ok());
  CHECK(read_all(**s) == f.child_disk);
  const auto m = map_all(**s);
  REQUIRE_FALSE(m.empty());
  CHECK(m.front().kind == ExtentKind::data);
  const Properties p = describe(**s);
  CHECK(p.get("subformat") == "differencing");
  CHECK(p.get("parent_linkage") == kParentLinkage);
  // Unaligned reads across the bitmap's runs.
  Bytes part(3000);
  REQUIRE((*s)->read(kMiB + 4000, part).ok());
  CHECK(std::equal(part.begin(), part.end(), f.child_disk.begin() + kMiB + 4000));
}

TEST_CASE("vhdx: parent paths follow the locator and the directory rule", "[vhdx][parent]") {
  TempDir dir;
  SECTION("a Windows absolute path falls back to the file name in the child's directory") {
    const Family f = make_family(dir.path(), {{"parent_linkage", kParentLinkage},
                                              {"absolute_win32_path", "C:\\vms\\p.vhdx"}});
    auto s = open_path(dir / "c.vhdx");
    INFO(s.status().to_string());
    REQUIRE(s.ok());
    CHECK(read_all(**s) == f.child_disk);
  }
  SECTION("a parent outside the child's directory needs allow_outside_paths") {
    std::filesystem::create_directory(dir / "sub");
    make_family(dir / "sub", {{"parent_linkage", kParentLinkage}, {"relative_path", "..\\q.vhdx"}});
    std::filesystem::rename(dir / "sub" / "p.vhdx", dir / "q.vhdx");
    auto s = open_path(dir / "sub" / "c.vhdx");
    REQUIRE_FALSE(s.ok());
    CHECK(s.status().code() == Errc::corrupt);  // invalid input: vdconvert exit 2
    CHECK(s.status().message().find("lies outside the directory") != std::string::npos);
    OpenOptions o;
    o.allow_outside_paths = true;
    CHECK(open_path(dir / "sub" / "c.vhdx", o).ok());
  }
  SECTION("a missing parent, or no path to look from") {
    make_family(dir.path(), {{"parent_linkage", kParentLinkage}, {"relative_path", "gone.vhdx"}});
    auto s = open_path(dir / "c.vhdx");
    REQUIRE_FALSE(s.ok());
    CHECK(s.status().code() == Errc::not_found);
    auto m = try_open(read_file(dir / "c.vhdx"));
    REQUIRE_FALSE(m.ok());
    CHECK(m.status().code() == Errc::not_found);
  }
}

TEST_CASE("vhdx: the parent's DataWriteGuid must match parent_linkage", "[vhdx][parent]") {
  TempDir dir;
  make_family(dir.path(), {{"parent_linkage", "{00000000-1111-2222-3333-444444444444}"},
                           {"relative_path", "p.vhdx"}});
  auto s = open_path(dir / "c.vhdx");
  REQUIRE_FALSE(s.ok());
  CHECK(s.status().code() == Errc::corrupt);
  CHECK(s.status().message().find("DataWriteGuid") != std::string::npos);
  OpenOptions o;
  o.ignore_parent_identity = true;
  CHECK(open_path(dir / "c.vhdx", o).ok());
  // parent_linkage2 is an accepted alternative.
  make_family(dir.path(), {{"parent_linkage", "{00000000-1111-2222-3333-444444444444}"},
                           {"parent_linkage2", kParentLinkage},
                           {"relative_path", "p.vhdx"}});
  CHECK(open_path(dir / "c.vhdx").ok());
}

TEST_CASE("vhdx: parent loops are refused", "[vhdx][parent][hostile]") {
  TempDir dir;
  SECTION("a disk that names itself") {
    VhdxBuilder b(child_spec({{"parent_linkage", kParentLinkage}, {"relative_path", "self.vhdx"}}));
    write_file(dir / "self.vhdx", b.bytes());
    auto s = open_path(dir / "self.vhdx");
    REQUIRE_FALSE(s.ok());
    CHECK(s.status().code() == Errc::corrupt);
  }
  SECTION("two disks that name each other") {
    VhdxBuilder a(child_spec({{"parent_linkage", kParentLinkage}, {"relative_path", "b.vhdx"}}));
    VhdxBuilder b(child_spec({{"parent_linkage", kParentLinkage}, {"relative_path", "a.vhdx"}}));
    write_file(dir / "a.vhdx", a.bytes());
    write_file(dir / "b.vhdx", b.bytes());
    OpenOptions o;
    o.ignore_parent_identity = true;
    auto s = open_path(dir / "a.vhdx", o);
    REQUIRE_FALSE(s.ok());
    CHECK(s.status().code() == Errc::corrupt);
    CHECK(s.status().message().find("loops") != std::string::npos);
  }
}
