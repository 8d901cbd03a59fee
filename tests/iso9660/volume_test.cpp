// The filesystem reader on images built byte by byte: Rock Ridge names, relocation,
// multi-extent files, and hostile structures (loops, bad CE, short records, past-volume extents).
#include <catch2/catch.hpp>

#include <cstring>

#include "iso_builder.h"
#include "test_support.h"
#include "vdisk/iso9660.h"

using namespace vdisk;
using namespace vdisk::iso9660;
namespace iso = vdisk::test::iso;

namespace {

constexpr std::uint32_t kRoot = 20;

Result<std::unique_ptr<Volume>> open_bytes(const iso::Bytes& img, VolumeOptions o = {}) {
  return Volume::open(std::shared_ptr<const RandomAccessFile>(memory_file(img)), o);
}

// Root with Rock Ridge: SP + ER in ".", one file "file.txt" (data at block 30).
iso::Builder rr_image(std::uint32_t blocks = 64) {
  iso::Builder b(blocks);
  const auto dot_su = iso::cat({iso::sp(), iso::er_rrip(), iso::px(040755)});
  const auto used = b.directory(
      kRoot, {iso::dot(kRoot, 2048, dot_su), iso::dotdot(kRoot, 2048),
              iso::record("FILE.TXT;1", 30, 5, 0,
                          iso::cat({iso::nm("file.txt"), iso::px(0100600, 1000, 100)}))});
  b.root(kRoot, used);
  b.put(30 * 2048, vdisk::test::bytes_of("hello"));
  return b;
}

// Opens `b`'s image and returns the status of listing its root directory.
Status list_root_status(iso::Builder& b) {
  auto v = open_bytes(b.image());
  REQUIRE(v.ok());
  return (*v)->list((*v)->root()).status();
}

std::vector<std::string> walk_names(const Volume& v) {
  std::vector<std::string> out;
  Status s = v.walk(v.root(), [&](const std::string& p, const Entry&) {
    out.push_back(p);
    return Status();
  });
  REQUIRE(s.ok());
  return out;
}

}  // namespace

TEST_CASE("iso9660: Rock Ridge names, modes and owners are used", "[iso9660][volume]") {
  auto b = rr_image();
  auto v = open_bytes(b.image());
  REQUIRE(v.ok());
  CHECK((*v)->info().rock_ridge);
  CHECK((*v)->info().rock_ridge_id == "RRIP_1991A");
  CHECK((*v)->info().names == NameSource::rock_ridge);
  auto e = (*v)->lookup("/file.txt");
  REQUIRE(e.ok());
  CHECK(e->mode == 0100600);
  CHECK(e->uid == 1000);
  CHECK(e->gid == 100);
  auto f = (*v)->open_file(*e);
  REQUIRE(f.ok());
  std::vector<std::byte> buf(5);
  REQUIRE((*f)->read_at(0, buf).ok());
  CHECK(buf == vdisk::test::bytes_of("hello"));
  CHECK((*f)->read_at(1, buf).code() == Errc::out_of_range);
}

TEST_CASE("iso9660: plain names are used when asked for", "[iso9660][volume]") {
  auto b = rr_image();
  VolumeOptions o;
  o.names = NameSource::plain;
  auto v = open_bytes(b.image(), o);
  REQUIRE(v.ok());
  CHECK(walk_names(**v) == std::vector<std::string>{"FILE.TXT"});
  o.names = NameSource::joliet;
  CHECK(open_bytes(b.image(), o).status().code() == Errc::unsupported);
}

TEST_CASE("iso9660: multi-extent files concatenate their extents", "[iso9660][volume]") {
  iso::Builder b(64);
  const auto used = b.directory(kRoot, {iso::dot(kRoot, 2048), iso::dotdot(kRoot, 2048),
                                        iso::record("BIG.BIN;1", 30, 4096, iso::kMulti),
                                        iso::record("BIG.BIN;1", 40, 2048, iso::kMulti),
                                        iso::record("BIG.BIN;1", 50, 100, 0)});
  b.root(kRoot, used);
  const auto a = vdisk::test::pattern(4096, 1), c = vdisk::test::pattern(2048, 2),
             d = vdisk::test::pattern(100, 3);
  b.put(30 * 2048, a);
  b.put(40 * 2048, c);
  b.put(50 * 2048, d);
  auto v = open_bytes(b.image());
  REQUIRE(v.ok());
  auto e = (*v)->lookup("BIG.BIN");
  REQUIRE(e.ok());
  CHECK(e->size == 6244);
  CHECK(e->extents.size() == 3);
  auto f = (*v)->open_file(*e);
  REQUIRE(f.ok());
  std::vector<std::byte> all(6244);
  REQUIRE((*f)->read_at(0, all).ok());
  std::vector<std::byte> want = a;
  want.insert(want.end(), c.begin(), c.end());
  want.insert(want.end(), d.begin(), d.end());
  CHECK(all == want);
}

TEST_CASE("iso9660: multi-extent file without a final record is corrupt",
          "[iso9660][volume][hostile]") {
  iso::Builder b(64);
  const auto used = b.directory(kRoot, {iso::dot(kRoot, 2048), iso::dotdot(kRoot, 2048),
                                        iso::record("BIG.BIN;1", 30, 2048, iso::kMulti),
                                        iso::record("OTHER;1", 40, 2048, 0)});
  b.root(kRoot, used);
  const Status s = list_root_status(b);
  REQUIRE_FALSE(s.ok());
  CHECK(s.code() == Errc::corrupt);
}

TEST_CASE("iso9660: directory loop by extent is corrupt in a walk", "[iso9660][volume][hostile]") {
  iso::Builder b(64);
  b.directory(22, {iso::dot(22, 2048), iso::dotdot(kRoot, 2048),
                   iso::record("BACK", kRoot, 2048, iso::kDir)});  // points at the root
  const auto used = b.directory(kRoot, {iso::dot(kRoot, 2048), iso::dotdot(kRoot, 2048),
                                        iso::record("SUB", 22, 2048, iso::kDir)});
  b.root(kRoot, used);
  auto v = open_bytes(b.image());
  REQUIRE(v.ok());
  Status s = (*v)->walk((*v)->root(), [](const std::string&, const Entry&) { return Status(); });
  CHECK(s.code() == Errc::corrupt);
  CHECK_THAT(s.message(), Catch::Contains("loop"));
}

TEST_CASE("iso9660: relocated directories appear at their CL link, loops are caught",
          "[iso9660][volume][hostile]") {
  iso::Builder b(64);
  const auto dot_su = iso::cat({iso::sp()});
  // rr_moved holds the real directory (RE), the placeholder in "a" links to it.
  b.directory(24, {iso::dot(24, 2048, iso::px(040700)), iso::dotdot(23, 2048),
                   iso::record("F;1", 30, 3, 0, iso::nm("f"))});
  b.directory(23,
              {iso::dot(23, 2048), iso::dotdot(kRoot, 2048),
               iso::record("DEEP", 24, 2048, iso::kDir, iso::cat({iso::nm("deep"), iso::re()}))});
  b.directory(22, {iso::dot(22, 2048), iso::dotdot(kRoot, 2048),
                   iso::record("DEEP;1", 0, 0, 0, iso::cat({iso::nm("deep"), iso::cl(24)}))});
  const auto used =
      b.directory(kRoot, {iso::dot(kRoot, 2048, dot_su), iso::dotdot(kRoot, 2048),
                          iso::record("A", 22, 2048, iso::kDir, iso::nm("a")),
                          iso::record("RR_MOVED", 23, 2048, iso::kDir, iso::nm("rr_moved"))});
  b.root(kRoot, used);
  b.put(30 * 2048, vdisk::test::bytes_of("abc"));
  auto v = open_bytes(b.image());
  REQUIRE(v.ok());
  CHECK(walk_names(**v) == std::vector<std::string>{"a", "a/deep", "a/deep/f", "rr_moved"});
  auto deep = (*v)->lookup("a/deep");
  REQUIRE(deep.ok());
  CHECK(deep->type == EntryType::directory);
  CHECK(deep->mode == 040700);

  // A CL link back to the root makes a loop.
  iso::Builder c(64);
  c.directory(22, {iso::dot(22, 2048), iso::dotdot(kRoot, 2048),
                   iso::record("UP;1", 0, 0, 0, iso::cat({iso::nm("up"), iso::cl(kRoot)}))});
  const auto u2 = c.directory(kRoot, {iso::dot(kRoot, 2048, dot_su), iso::dotdot(kRoot, 2048),
                                      iso::record("A", 22, 2048, iso::kDir, iso::nm("a"))});
  c.root(kRoot, u2);
  auto w = open_bytes(c.image());
  REQUIRE(w.ok());
  Status s = (*w)->walk((*w)->root(), [](const std::string&, const Entry&) { return Status(); });
  CHECK(s.code() == Errc::corrupt);
}

TEST_CASE("iso9660: a CE chain that loops is corrupt", "[iso9660][volume][hostile]") {
  iso::Builder b(64);
  const auto dot_su = iso::sp();
  // The continuation area at block 40 points at itself.
  b.put(40 * 2048, iso::ce(40, 0, 28));
  const auto used = b.directory(kRoot, {iso::dot(kRoot, 2048, dot_su), iso::dotdot(kRoot, 2048),
                                        iso::record("X;1", 30, 0, 0, iso::ce(40, 0, 28))});
  b.root(kRoot, used);
  const Status s = list_root_status(b);
  REQUIRE_FALSE(s.ok());
  CHECK(s.code() == Errc::corrupt);
  CHECK_THAT(s.message(), Catch::Contains("loop"));
}

TEST_CASE("iso9660: a CE area outside the volume is corrupt", "[iso9660][volume][hostile]") {
  iso::Builder b(64);
  const auto used = b.directory(kRoot, {iso::dot(kRoot, 2048, iso::sp()), iso::dotdot(kRoot, 2048),
                                        iso::record("X;1", 30, 0, 0, iso::ce(1000, 0, 100))});
  b.root(kRoot, used);
  const Status s = list_root_status(b);
  REQUIRE_FALSE(s.ok());
  CHECK_THAT(s.message(), Catch::Contains("outside the volume"));
}

TEST_CASE("iso9660: a long CE chain hits the continuation cap", "[iso9660][volume][hostile]") {
  iso::Builder b(128);
  for (std::uint32_t i = 0; i < 60; ++i) b.put((40 + i) * 2048, iso::ce(41 + i, 0, 28));
  const auto used = b.directory(kRoot, {iso::dot(kRoot, 2048, iso::sp()), iso::dotdot(kRoot, 2048),
                                        iso::record("X;1", 30, 0, 0, iso::ce(40, 0, 28))});
  b.root(kRoot, used);
  CHECK(list_root_status(b).code() == Errc::resource_exhausted);
}

TEST_CASE("iso9660: extents past the volume are corrupt", "[iso9660][volume][hostile]") {
  iso::Builder b(64);
  const auto used = b.directory(
      kRoot, {iso::dot(kRoot, 2048), iso::dotdot(kRoot, 2048), iso::record("X;1", 63, 4096, 0)});
  b.root(kRoot, used);
  const Status s = list_root_status(b);
  REQUIRE_FALSE(s.ok());
  CHECK_THAT(s.message(), Catch::Contains("outside the volume"));
}

TEST_CASE("iso9660: a short record inside a directory is corrupt", "[iso9660][volume][hostile]") {
  iso::Builder b(64);
  auto bad = iso::record("X;1", 30, 0, 0);
  bad[0] = std::byte{20};
  const auto used = b.directory(kRoot, {iso::dot(kRoot, 2048), iso::dotdot(kRoot, 2048), bad});
  b.root(kRoot, used);
  CHECK(list_root_status(b).code() == Errc::corrupt);
}

TEST_CASE("iso9660: Rock Ridge names '..' and '.' are refused", "[iso9660][volume][hostile]") {
  for (const char* name : {"..", "."}) {
    iso::Builder b(64);
    const auto used =
        b.directory(kRoot, {iso::dot(kRoot, 2048, iso::sp()), iso::dotdot(kRoot, 2048),
                            iso::record("X;1", 30, 0, 0, iso::nm(name))});
    b.root(kRoot, used);
    CHECK(list_root_status(b).code() == Errc::corrupt);
  }
}

TEST_CASE("iso9660: depth beyond the cap is resource_exhausted", "[iso9660][volume][hostile]") {
  iso::Builder b(128);
  // A chain of 20 nested directories, blocks 21..40.
  for (std::uint32_t i = 0; i < 20; ++i) {
    const std::uint32_t blk = 21 + i;
    if (i < 19)
      b.directory(blk, {iso::dot(blk, 2048), iso::dotdot(blk - 1, 2048),
                        iso::record("D", blk + 1, 2048, iso::kDir)});
    else
      b.directory(blk, {iso::dot(blk, 2048), iso::dotdot(blk - 1, 2048)});
  }
  const auto used = b.directory(kRoot, {iso::dot(kRoot, 2048), iso::dotdot(kRoot, 2048),
                                        iso::record("D", 21, 2048, iso::kDir)});
  b.root(kRoot, used);
  VolumeOptions o;
  o.limits.max_depth = 10;
  auto v = open_bytes(b.image(), o);
  REQUIRE(v.ok());
  Status s = (*v)->walk((*v)->root(), [](const std::string&, const Entry&) { return Status(); });
  CHECK(s.code() == Errc::resource_exhausted);
  auto ok = open_bytes(b.image());
  REQUIRE(ok.ok());
  CHECK(walk_names(**ok).size() == 20);
}

TEST_CASE("iso9660: descriptor set without terminator or PVD is corrupt",
          "[iso9660][volume][hostile]") {
  iso::Builder b(64);
  b.root(kRoot, 2048);
  auto img = b.image();
  img[17 * 2048] = std::byte{2};        // terminator becomes an SVD...
  img[17 * 2048 + 128] = std::byte{0};  // ...with a bad block size
  CHECK_FALSE(open_bytes(img).ok());
  auto img2 = b.image();
  img2[16 * 2048] = std::byte{3};  // PVD becomes a partition descriptor
  auto v = open_bytes(img2);
  REQUIRE_FALSE(v.ok());
  CHECK_THAT(v.status().message(), Catch::Contains("no primary volume descriptor"));
  auto small = iso::Bytes(b.image().begin(), b.image().begin() + 17 * 2048);
  CHECK(open_bytes(small).status().code() == Errc::corrupt);
}

TEST_CASE("iso9660: associated files are skipped, hidden files listed", "[iso9660][volume]") {
  iso::Builder b(64);
  const auto used =
      b.directory(kRoot, {iso::dot(kRoot, 2048), iso::dotdot(kRoot, 2048),
                          iso::record("A;1", 30, 1, iso::kAssoc), iso::record("A;1", 31, 1, 0),
                          iso::record("H;1", 32, 1, iso::kHidden)});
  b.root(kRoot, used);
  auto v = open_bytes(b.image());
  REQUIRE(v.ok());
  auto l = (*v)->list((*v)->root());
  REQUIRE(l.ok());
  REQUIRE(l->size() == 2);
  CHECK((*l)[0].name == "A");
  CHECK_FALSE((*l)[0].associated);
  CHECK((*l)[1].hidden);
}
