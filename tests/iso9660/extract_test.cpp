// Safe extraction on builder-made images: contents, modes, times, symlinks, multi-extent files,
// no overwrite without the option, temp+rename, and hostile trees (names with '/', '..', NUL;
// a symlink followed by a directory of the same name; a pre-existing symlink in DEST;
// directory loops) that must leave nothing outside DEST.
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <utility>

#include "iso_builder.h"
#include "test_support.h"
#include "vdisk/iso9660.h"

using namespace vdisk;
using namespace vdisk::iso9660;
namespace iso = vdisk::test::iso;
namespace fs = std::filesystem;
using vdisk::test::TempDir;

namespace {

constexpr std::uint32_t kRoot = 20;

std::unique_ptr<Volume> open_bytes(const iso::Bytes& img) {
  auto v = Volume::open(std::shared_ptr<const RandomAccessFile>(memory_file(img)));
  INFO(v.status().to_string());
  REQUIRE(v.ok());
  return std::move(*v);
}

iso::Bytes sl_to(std::initializer_list<std::pair<std::uint8_t, std::string_view>> parts) {
  const std::vector<std::pair<std::uint8_t, std::string_view>> v(parts);
  return iso::sl(v);
}

// "/": file.txt (0640, "hello"), sub/ (0750) holding big.bin (multi-extent, 3 parts) and a
// relative symlink up -> ../file.txt, ro/ (0555) holding x (0444).
iso::Builder good_image() {
  iso::Builder b(96);
  b.directory(
      22, {iso::dot(22, 2048, iso::px(040750)), iso::dotdot(kRoot, 2048),
           iso::record("BIG.BIN;1", 30, 4096, iso::kMulti,
                       iso::cat({iso::nm("big.bin"), iso::px(0100644)})),
           iso::record("BIG.BIN;1", 40, 2048, iso::kMulti,
                       iso::cat({iso::nm("big.bin"), iso::px(0100644)})),
           iso::record("BIG.BIN;1", 50, 100, 0, iso::cat({iso::nm("big.bin"), iso::px(0100644)})),
           iso::record(
               "UP;1", 0, 0, 0,
               iso::cat({iso::nm("up"), iso::px(0120777), sl_to({{0x04, ""}, {0, "file.txt"}})}))});
  b.directory(23, {iso::dot(23, 2048, iso::px(040555)), iso::dotdot(kRoot, 2048),
                   iso::record("X;1", 60, 1, 0, iso::cat({iso::nm("x"), iso::px(0100444)}))});
  const auto used = b.directory(
      kRoot,
      {iso::dot(kRoot, 2048, iso::cat({iso::sp(), iso::er_rrip(), iso::px(040755)})),
       iso::dotdot(kRoot, 2048),
       iso::record("FILE.TXT;1", 28, 5, 0, iso::cat({iso::nm("file.txt"), iso::px(0100640)})),
       iso::record("RO", 23, 2048, iso::kDir, iso::cat({iso::nm("ro"), iso::px(040555)})),
       iso::record("SUB", 22, 2048, iso::kDir, iso::cat({iso::nm("sub"), iso::px(040750)}))});
  b.root(kRoot, used);
  b.put(28 * 2048, vdisk::test::bytes_of("hello"));
  b.put(30 * 2048, vdisk::test::pattern(4096, 1));
  b.put(40 * 2048, vdisk::test::pattern(2048, 2));
  b.put(50 * 2048, vdisk::test::pattern(100, 3));
  b.put(60 * 2048, vdisk::test::bytes_of("x"));
  return b;
}

std::uint32_t mode_of(const fs::path& p) {
  struct stat st {};
  REQUIRE(::lstat(p.c_str(), &st) == 0);
  return st.st_mode;
}

std::vector<std::string> tree(const fs::path& root) {
  std::vector<std::string> out;
  if (!fs::exists(fs::symlink_status(root))) return out;
  for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator();
       ++it)
    out.push_back(it->path().lexically_relative(root).string());
  std::sort(out.begin(), out.end());
  return out;
}

// An image whose root holds the given records (Rock Ridge on), with 1-byte files at block 30.
iso::Builder root_with(std::initializer_list<iso::Bytes> records) {
  iso::Builder b(64);
  std::vector<iso::Bytes> all{
      iso::dot(kRoot, 2048, iso::cat({iso::sp(), iso::er_rrip(), iso::px(040755)})),
      iso::dotdot(kRoot, 2048)};
  for (const auto& r : records) all.push_back(r);
  // Builder::directory takes an initializer_list; lay the records out by hand.
  std::uint32_t pos = 0;
  for (const auto& r : all) {
    if (pos % 2048 + r.size() > 2048) pos = (pos / 2048 + 1) * 2048;
    b.put(std::uint64_t{kRoot} * 2048 + pos, r);
    pos += static_cast<std::uint32_t>(r.size());
  }
  b.root(kRoot, (pos + 2047) / 2048 * 2048);
  b.put(30 * 2048, vdisk::test::bytes_of("X"));
  return b;
}

}  // namespace

TEST_CASE("extract: a tree with modes, times, symlinks and a multi-extent file",
          "[iso9660][extract]") {
  auto b = good_image();
  auto v = open_bytes(b.image());
  TempDir t;
  std::vector<std::string> seen;
  ExtractOptions o;
  o.on_progress = [&](const ExtractProgress& p) { seen.push_back(p.path); };
  auto r = extract(*v, "/", t / "out", o);
  INFO(r.status().to_string());
  REQUIRE(r.ok());
  CHECK(r->files == 3);
  CHECK(r->directories == 2);
  CHECK(r->symlinks == 1);
  CHECK(r->bytes == 5 + 6244 + 1);
  CHECK(seen.size() == 6);
  CHECK(tree(t / "out") ==
        std::vector<std::string>{"file.txt", "ro", "ro/x", "sub", "sub/big.bin", "sub/up"});
  CHECK(vdisk::test::read_file(t / "out/file.txt") == vdisk::test::bytes_of("hello"));
  auto want = vdisk::test::pattern(4096, 1);
  for (auto& p : {vdisk::test::pattern(2048, 2), vdisk::test::pattern(100, 3)})
    want.insert(want.end(), p.begin(), p.end());
  CHECK(vdisk::test::read_file(t / "out/sub/big.bin") == want);
  CHECK(fs::read_symlink(t / "out/sub/up") == "../file.txt");
  CHECK((mode_of(t / "out/file.txt") & 07777) == 0640);
  CHECK((mode_of(t / "out/sub") & 07777) == 0750);
  CHECK((mode_of(t / "out/ro") & 07777) == 0555);
  CHECK((mode_of(t / "out/ro/x") & 07777) == 0444);
  // Record dates are 2020-01-02 00:00:00 UTC in the builder.
  struct stat st {};
  REQUIRE(::lstat((t / "out/sub/up").c_str(), &st) == 0);
  CHECK(st.st_mtime == 1577923200);
  REQUIRE(::stat((t / "out/sub").c_str(), &st) == 0);
  CHECK(st.st_mtime == 1577923200);
  // No temporary files are left.
  for (const auto& p : tree(t / "out")) CHECK(p.find(".vdisk-extract") == std::string::npos);
  fs::permissions(t / "out/ro", fs::perms(0755));  // so TempDir can clean up
}

TEST_CASE("extract: existing files are kept unless overwrite", "[iso9660][extract]") {
  auto b = good_image();
  auto v = open_bytes(b.image());
  TempDir t;
  fs::create_directories(t / "out");
  vdisk::test::write_file(t / "out/file.txt", vdisk::test::bytes_of("mine"));
  auto r = extract(*v, "file.txt", t / "out");
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == Errc::already_exists);
  CHECK(vdisk::test::read_file(t / "out/file.txt") == vdisk::test::bytes_of("mine"));
  CHECK(tree(t / "out") == std::vector<std::string>{"file.txt"});  // temp file removed
  ExtractOptions o;
  o.overwrite = true;
  REQUIRE(extract(*v, "file.txt", t / "out", o).ok());
  CHECK(vdisk::test::read_file(t / "out/file.txt") == vdisk::test::bytes_of("hello"));
  // A single file to a new name, and a symlink.
  REQUIRE(extract(*v, "/sub/big.bin", t / "big").ok());
  CHECK(fs::file_size(t / "big") == 6244);
  REQUIRE(extract(*v, "sub/up", t / "out").ok());
  CHECK(fs::read_symlink(t / "out/up") == "../file.txt");
  // A directory is never replaced by a file.
  fs::create_directories(t / "d/file.txt");
  CHECK(extract(*v, "file.txt", t / "d", o).status().code() == Errc::already_exists);
  // Nor a FIFO (or a device node: DEST /dev/null as root), even with overwrite.
  REQUIRE(::mkfifo((t / "fifo").c_str(), 0600) == 0);
  CHECK(extract(*v, "file.txt", t / "fifo", o).status().code() == Errc::already_exists);
  CHECK(fs::is_fifo(t / "fifo"));
  // A missing parent is an I/O error, a missing entry not_found.
  CHECK_FALSE(extract(*v, "file.txt", t / "no/such/dir/f").ok());
  CHECK(extract(*v, "nope", t / "x").status().code() == Errc::not_found);
}

TEST_CASE("extract: streaming one file to a sink", "[iso9660][extract]") {
  auto b = good_image();
  auto v = open_bytes(b.image());
  auto e = v->lookup("sub/big.bin");
  REQUIRE(e.ok());
  std::vector<std::byte> out;
  auto sink = memory_sink(&out);
  std::uint64_t last = 0;
  REQUIRE(stream_file(*v, *e, *sink, [&](std::uint64_t n) { last = n; }).ok());
  CHECK(out.size() == 6244);
  CHECK(last == 6244);
  auto d = v->lookup("sub");
  REQUIRE(d.ok());
  std::vector<std::byte> none;
  auto sink2 = memory_sink(&none);
  CHECK(stream_file(*v, *d, *sink2).code() == Errc::invalid_argument);
}

TEST_CASE("extract: Rock Ridge names with '/', '..' or NUL are refused",
          "[iso9660][extract][hostile]") {
  const std::string with_nul("a\0b", 3);
  for (const std::string& name : {std::string("../evil"), std::string(".."), std::string("a/b"),
                                  with_nul, std::string("/abs")}) {
    INFO(name);
    auto b = root_with({iso::record("OK;1", 30, 1, 0, iso::nm("ok")),
                        iso::record("E;1", 30, 1, 0, iso::nm(name))});
    auto v = open_bytes(b.image());
    TempDir t;
    fs::create_directories(t / "dest");
    auto r = extract(*v, "/", t / "dest");
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == Errc::corrupt);
    CHECK(tree(t.path()) == std::vector<std::string>{"dest"});
  }
}

TEST_CASE("extract: a symlink then a directory of the same name is refused",
          "[iso9660][extract][hostile]") {
  TempDir t;
  fs::create_directories(t / "outside");
  const std::string outside = (t / "outside").string();
  // d -> <outside> (absolute), then directory d holding x: x must never land in outside/.
  iso::Builder b(64);
  b.directory(22, {iso::dot(22, 2048, iso::px(040755)), iso::dotdot(kRoot, 2048),
                   iso::record("X;1", 30, 1, 0, iso::nm("x"))});
  std::vector<std::pair<std::uint8_t, std::string_view>> comps{{0x08, ""}};
  std::vector<std::string> parts;
  for (const auto& c : fs::path(outside).relative_path()) parts.push_back(c.string());
  for (const auto& p : parts) comps.emplace_back(0, p);
  const auto used = b.directory(
      kRoot,
      {iso::dot(kRoot, 2048, iso::cat({iso::sp(), iso::er_rrip()})), iso::dotdot(kRoot, 2048),
       iso::record("D;1", 0, 0, 0, iso::cat({iso::nm("d"), iso::px(0120777), iso::sl(comps)})),
       iso::record("D", 22, 2048, iso::kDir, iso::cat({iso::nm("d"), iso::px(040755)}))});
  b.root(kRoot, used);
  b.put(30 * 2048, vdisk::test::bytes_of("X"));
  auto v = open_bytes(b.image());
  std::vector<std::string> notes;
  ExtractOptions o;
  o.on_diagnostic = [&](const Diagnostic& d) { notes.push_back(d.message); };
  auto r = extract(*v, "/", t / "dest", o);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == Errc::corrupt);
  CHECK_THAT(r.status().message(), Catch::Contains("second entry with this name"));
  CHECK(tree(t / "outside").empty());
  CHECK(fs::read_symlink(t / "dest/d") == outside);  // created, never followed
  REQUIRE(notes.size() == 1);
  CHECK_THAT(notes[0], Catch::Contains("points outside the destination"));
  // Even with overwrite the duplicate is refused.
  ExtractOptions force;
  force.overwrite = true;
  CHECK(extract(*v, "/", t / "dest2", force).status().code() == Errc::corrupt);
  CHECK(tree(t / "outside").empty());
}

TEST_CASE("extract: a symlink already in DEST is never followed", "[iso9660][extract][hostile]") {
  auto b = good_image();
  auto v = open_bytes(b.image());
  TempDir t;
  fs::create_directories(t / "outside");
  fs::create_directories(t / "dest");
  fs::create_directory_symlink(t / "outside", t / "dest/sub");
  auto r = extract(*v, "/", t / "dest");
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == Errc::already_exists);
  CHECK_THAT(r.status().message(), Catch::Contains("refusing to follow"));
  CHECK(tree(t / "outside").empty());
  // With overwrite the symlink itself is replaced by the directory.
  ExtractOptions o;
  o.overwrite = true;
  REQUIRE(extract(*v, "/", t / "dest", o).ok());
  CHECK(tree(t / "outside").empty());
  CHECK(fs::is_directory(fs::symlink_status(t / "dest/sub")));
  CHECK(fs::file_size(t / "dest/sub/big.bin") == 6244);
  fs::permissions(t / "dest/ro", fs::perms(0755));
}

TEST_CASE("extract: directory loops stop the extraction", "[iso9660][extract][hostile]") {
  iso::Builder b(64);
  b.directory(22, {iso::dot(22, 2048), iso::dotdot(kRoot, 2048),
                   iso::record("BACK", kRoot, 2048, iso::kDir)});
  const auto used = b.directory(kRoot, {iso::dot(kRoot, 2048), iso::dotdot(kRoot, 2048),
                                        iso::record("SUB", 22, 2048, iso::kDir)});
  b.root(kRoot, used);
  auto v = open_bytes(b.image());
  TempDir t;
  auto r = extract(*v, "/", t / "dest");
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == Errc::corrupt);
  CHECK_THAT(r.status().message(), Catch::Contains("loop"));
  CHECK(tree(t.path()) == std::vector<std::string>{"dest", "dest/SUB", "dest/SUB/BACK"});
}

TEST_CASE("extract: cancellation stops before writing", "[iso9660][extract]") {
  auto b = good_image();
  auto v = open_bytes(b.image());
  TempDir t;
  std::stop_source stop;
  stop.request_stop();
  ExtractOptions o;
  o.stop = stop.get_token();
  CHECK(extract(*v, "/", t / "dest", o).status().code() == Errc::cancelled);
  CHECK(tree(t / "dest").empty());
}

TEST_CASE("extract: mode_string", "[iso9660][extract]") {
  CHECK(mode_string(040755) == "drwxr-xr-x");
  CHECK(mode_string(0100644) == "-rw-r--r--");
  CHECK(mode_string(0120777) == "lrwxrwxrwx");
  CHECK(mode_string(0104755) == "-rwsr-xr-x");
  CHECK(mode_string(0102644) == "-rw-r-Sr--");
  CHECK(mode_string(041777) == "drwxrwxrwt");
}
