// check --for gcp: our own archives pass every rule with the right content hash; archives that
// break one rule (CRC, trailing data, non-GiB size, POSIX magic, wrong name, truncation) fail
// that rule; SHA-256 matches known vectors.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <optional>

#include "formats/gcp/gcp.h"
#include "test_support.h"
#include "vdisk/check.h"
#include "vdisk/image.h"

using namespace vdisk;
using vdisk::test::pattern;
using vdisk::test::TempDir;

namespace {

constexpr std::uint64_t kKiB = 1024, kMiB = 1024 * kKiB, kGiB = 1024 * kMiB;

const CheckItem* item(const CheckReport& r, std::string_view prefix) {
  for (const auto& i : r.items)
    if (i.rule.rfind(prefix, 0) == 0) return &i;
  return nullptr;
}

bool rule_passed(const CheckReport& r, std::string_view prefix) {
  const CheckItem* i = item(r, prefix);
  INFO(prefix);
  REQUIRE(i != nullptr);
  return i->passed;
}

std::string sh(const std::string& cmd) {
  std::string out;
  INFO(cmd);
  REQUIRE(test::run(cmd, &out) == 0);
  return out;
}

// SHA-256 (Python's hashlib, independent of the code under test) of `path` padded with zeros
// to `size` bytes, reading only the file's data segments (SEEK_DATA/SEEK_HOLE) and hashing the
// holes from a zero buffer: the same digest as sha256sum of the padded file, without reading a
// GiB of holes through the kernel.
std::string padded_sha256(const std::filesystem::path& path, std::uint64_t size) {
  const std::string out = sh("python3 - '" + path.string() + "' " + std::to_string(size) +
                             " <<'PY'\n"
                             "import hashlib, os, sys\n"
                             "path, size = sys.argv[1], int(sys.argv[2])\n"
                             "h, zero, at = hashlib.sha256(), bytes(1 << 20), 0\n"
                             "def zeros(n):\n"
                             "    while n > 0:\n"
                             "        k = min(n, len(zero)); h.update(zero[:k]); n -= k\n"
                             "fd = os.open(path, os.O_RDONLY); end = os.fstat(fd).st_size\n"
                             "while at < end:\n"
                             "    try: data = os.lseek(fd, at, os.SEEK_DATA)\n"
                             "    except OSError: data = end\n"
                             "    hole = os.lseek(fd, data, os.SEEK_HOLE) if data < end else end\n"
                             "    zeros(data - at)\n"
                             "    h.update(os.pread(fd, hole - data, data)); at = hole\n"
                             "zeros(size - end); print(h.hexdigest())\n"
                             "PY");
  return out.substr(0, 64);
}

// check --for gcp with the disk content hash skipped (these tests look at other rules): the
// same walk as check_image() without hashing a GiB of zeros.
CheckReport check_rules(const std::filesystem::path& tgz) {
  auto file = open_file(tgz);
  REQUIRE(file.ok());
  auto r = gcp::check_gcp_file(**file, tgz.filename().string(), 0);
  REQUIRE(r.ok());
  return *r;
}

// A small sparse disk converted with --to gcp; returns the archive path.
std::filesystem::path make_archive(const TempDir& dir, std::size_t regions) {
  const auto in = dir / "in.raw";
  const int fd = ::open(in.c_str(), O_CREAT | O_TRUNC | O_WRONLY, 0644);
  REQUIRE(fd >= 0);
  for (std::size_t i = 0; i < regions; ++i) {
    const auto d = pattern(8192, static_cast<std::uint32_t>(i + 1));
    REQUIRE(::pwrite(fd, d.data(), d.size(), static_cast<off_t>(i * kMiB)) == 8192);
  }
  REQUIRE(::ftruncate(fd, static_cast<off_t>(64 * kMiB + 512)) == 0);
  ::close(fd);
  ConvertOptions o;
  o.target = "gcp";
  o.sync = false;
  o.output.timestamp_unix = 1;
  REQUIRE(convert({in}, {dir / "disk.tar.gz"}, o).ok());
  return dir / "disk.tar.gz";
}

}  // namespace

TEST_CASE("gcp check: our archive passes every rule and reports the content hash",
          "[gcp][check][interop]") {
  TempDir dir;
  const auto tgz = make_archive(dir, 30);
  auto r = check_image(tgz, "gcp");
  REQUIRE(r.ok());
  for (const auto& i : r->items) {
    INFO(i.rule << ": " << i.detail);
    CHECK(i.passed);
  }
  CHECK(r->passed());
  const CheckItem* h = item(*r, "disk content");
  REQUIRE(h != nullptr);
  CHECK(h->detail == "sha256 " + padded_sha256(dir / "in.raw", kGiB));
  // The reference hash itself is sha256sum's on a small padded file.
  sh("cp --sparse=always '" + (dir / "in.raw").string() + "' '" + (dir / "p.raw").string() +
     "' && truncate -s 80M '" + (dir / "p.raw").string() + "'");
  CHECK(padded_sha256(dir / "in.raw", 80 * kMiB) == test::sha256_file(dir / "p.raw"));
}

TEST_CASE("gcp check: GNU tar's own oldgnu sparse archive passes", "[gcp][check][interop]") {
  TempDir dir;
  sh("cd '" + dir.path().string() +
     "' && truncate -s 1G disk.raw && "
     "printf abc | dd of=disk.raw bs=1 seek=5000000 conv=notrunc status=none && "
     "tar --format=oldgnu -Sczf g.tar.gz disk.raw");
  auto r = check_image(dir / "g.tar.gz", "gcp");
  REQUIRE(r.ok());
  for (const auto& i : r->items) {
    INFO(i.rule << ": " << i.detail);
    CHECK(i.passed);
  }
  CHECK(item(*r, "disk content")->detail == "sha256 " + padded_sha256(dir / "disk.raw", kGiB));
}

TEST_CASE("gcp check: each broken rule is reported", "[gcp][check][interop]") {
  TempDir dir;
  const auto tgz = make_archive(dir, 3);
  auto bytes = test::read_file(tgz);

  SECTION("CRC trailer") {
    bytes[bytes.size() - 6] ^= std::byte{0x55};
    test::write_file(dir / "bad.tar.gz", bytes);
    auto r = std::optional(check_rules(dir / "bad.tar.gz"));
    CHECK_FALSE(rule_passed(*r, "gzip CRC-32"));
    CHECK(rule_passed(*r, "gzip ISIZE"));
    CHECK_FALSE(r->passed());
  }
  SECTION("a second gzip member") {
    const auto copy = bytes;
    bytes.insert(bytes.end(), copy.begin(), copy.end());
    test::write_file(dir / "two.tar.gz", bytes);
    auto r = std::optional(check_rules(dir / "two.tar.gz"));
    CHECK_FALSE(rule_passed(*r, "file is a single gzip member"));
  }
  SECTION("truncated") {
    bytes.resize(bytes.size() / 2);
    test::write_file(dir / "cut.tar.gz", bytes);
    auto r = std::optional(check_rules(dir / "cut.tar.gz"));
    CHECK_FALSE(rule_passed(*r, "deflate stream decompresses completely"));
    CHECK_FALSE(r->passed());
  }
  SECTION("not gzip") {
    test::write_file(dir / "x.tar.gz", pattern(4096, 3));
    auto r = check_image(dir / "x.tar.gz", "gcp");
    REQUIRE(r.ok());
    CHECK_FALSE(rule_passed(*r, "gzip header"));
  }
}

TEST_CASE("gcp check: wrong size, POSIX format and wrong name fail", "[gcp][check][interop]") {
  TempDir dir;
  const std::string d = dir.path().string();
  sh("cd '" + d +
     "' && truncate -s 10M disk.raw && tar --format=oldgnu -Sczf small.tar.gz "
     "disk.raw && tar --format=posix -czf posix.tar.gz disk.raw && "
     "mv disk.raw image.raw && truncate -s 1G image.raw && tar --format=oldgnu -Sczf name.tar.gz "
     "image.raw");
  auto small = check_image(dir / "small.tar.gz", "gcp");
  REQUIRE(small.ok());
  CHECK_FALSE(rule_passed(*small, "disk.raw size is a whole number of GiB"));
  CHECK(rule_passed(*small, "tar headers use GNU"));
  auto posix = check_image(dir / "posix.tar.gz", "gcp");
  REQUIRE(posix.ok());
  CHECK_FALSE(rule_passed(*posix, "tar headers use GNU"));
  auto name = std::optional(check_rules(dir / "name.tar.gz"));
  CHECK_FALSE(rule_passed(*name, "exactly one member named disk.raw"));
  CHECK(item(*name, "exactly one member")->detail == "members: image.raw");
}

// "exactly one member named disk.raw" means disk.raw and nothing else: every other entry, in
// any position and from any writer, fails the rule and is named; the extension headers that
// belong to disk.raw itself (pax 'x', GNU long names) are not entries of their own.
TEST_CASE("gcp check: any entry besides disk.raw fails the one-member rule",
          "[gcp][check][interop]") {
  TempDir dir;
  const std::string d = dir.path().string();
  const std::string long_name = std::string(120, 'n') + ".txt";
  sh("cd '" + d +
     "' && truncate -s 1G disk.raw && echo hi > other.txt && mkdir sub && "
     "echo x > '" +
     long_name +
     "' && "
     "tar --format=oldgnu -Sczf after.tar.gz disk.raw other.txt && "
     "tar --format=oldgnu -Sczf before.tar.gz other.txt disk.raw && "
     "tar --format=oldgnu -Sczf dir.tar.gz disk.raw sub && "
     "tar --format=gnu -Sczf long.tar.gz disk.raw '" +
     long_name +
     "' && "
     "bsdtar --format=gnutar -czf bsd.tar.gz disk.raw other.txt && "
     "truncate -s 10M small.raw && python3 -c 'import tarfile\n"
     "t = tarfile.open(\"py.tar.gz\", \"w:gz\", format=tarfile.GNU_FORMAT)\n"
     "t.add(\"small.raw\", \"disk.raw\"); t.add(\"other.txt\"); t.close()\n"
     "t = tarfile.open(\"pyg.tar.gz\", \"w:gz\", format=tarfile.PAX_FORMAT, "
     "pax_headers={\"comment\": \"x\"})\n"
     "t.add(\"small.raw\", \"disk.raw\"); t.close()'");
  struct Case {
    const char* file;
    const char* names;  // the detail must contain this
  };
  for (const Case& c :
       {Case{"after.tar.gz", "members: disk.raw, other.txt"},
        Case{"before.tar.gz", "members: other.txt, disk.raw"},
        Case{"dir.tar.gz", "sub/ (directory)"}, Case{"bsd.tar.gz", "other.txt"},
        Case{"py.tar.gz", "other.txt"}, Case{"pyg.tar.gz", "(pax global header)"}}) {
    auto r = std::optional(check_rules(dir / c.file));
    const CheckItem* i = item(*r, "exactly one member named disk.raw");
    REQUIRE(i != nullptr);
    INFO(c.file << ": " << i->detail);
    CHECK_FALSE(i->passed);
    CHECK_THAT(i->detail, Catch::Contains(c.names));
    CHECK_FALSE(r->passed());
  }
  auto r = std::optional(check_rules(dir / "long.tar.gz"));
  const CheckItem* i = item(*r, "exactly one member named disk.raw");
  INFO(i->detail);
  CHECK_FALSE(i->passed);
  CHECK(i->detail == "members: disk.raw, " + long_name + "; 1 entry besides disk.raw");
}

TEST_CASE("gcp check: extension headers of disk.raw itself are not other members",
          "[gcp][check][interop]") {
  TempDir dir;
  const std::string d = dir.path().string();
  // GNU tar's posix format writes a pax 'x' header before disk.raw; Python's pax format too; a
  // pax "path" record names the entry (here a header named x.raw becomes disk.raw).
  sh("cd '" + d +
     "' && truncate -s 10M disk.raw && cp disk.raw x.raw && "
     "tar --format=posix -czf posix.tar.gz disk.raw && python3 -c 'import tarfile\n"
     "t = tarfile.open(\"pax.tar.gz\", \"w:gz\", format=tarfile.PAX_FORMAT)\n"
     "i = t.gettarinfo(\"x.raw\", \"x.raw\"); i.pax_headers = {\"path\": \"disk.raw\"}\n"
     "t.addfile(i, open(\"x.raw\", \"rb\")); t.close()'");
  for (const char* f : {"posix.tar.gz", "pax.tar.gz"}) {
    auto r = std::optional(check_rules(dir / f));
    const CheckItem* i = item(*r, "exactly one member named disk.raw");
    REQUIRE(i != nullptr);
    INFO(f << ": " << i->detail);
    CHECK(i->passed);
    CHECK(i->detail == "members: disk.raw");
  }
}
