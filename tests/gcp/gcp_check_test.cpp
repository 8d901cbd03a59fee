// check --for gcp: our own archives pass every rule with the right content hash; archives that
// break one rule (CRC, trailing data, non-GiB size, POSIX magic, wrong name, truncation) fail
// that rule; SHA-256 matches known vectors.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <unistd.h>

#include "gcp/gcp.h"
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
  o.target = Target::gcp;
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
  sh("cp --sparse=always '" + (dir / "in.raw").string() + "' '" + (dir / "p.raw").string() +
     "' && truncate -s 1G '" + (dir / "p.raw").string() + "'");
  const CheckItem* h = item(*r, "disk content");
  REQUIRE(h != nullptr);
  CHECK(h->detail == "sha256 " + test::sha256_file(dir / "p.raw"));
}

TEST_CASE("gcp check: GNU tar's own oldgnu sparse archive passes", "[gcp][check][interop]") {
  TempDir dir;
  sh("cd '" + dir.path().string() + "' && truncate -s 1G disk.raw && "
     "printf abc | dd of=disk.raw bs=1 seek=5000000 conv=notrunc status=none && "
     "tar --format=oldgnu -Sczf g.tar.gz disk.raw");
  auto r = check_image(dir / "g.tar.gz", "gcp");
  REQUIRE(r.ok());
  for (const auto& i : r->items) {
    INFO(i.rule << ": " << i.detail);
    CHECK(i.passed);
  }
  CHECK(item(*r, "disk content")->detail == "sha256 " + test::sha256_file(dir / "disk.raw"));
}

TEST_CASE("gcp check: each broken rule is reported", "[gcp][check][interop]") {
  TempDir dir;
  const auto tgz = make_archive(dir, 3);
  auto bytes = test::read_file(tgz);

  SECTION("CRC trailer") {
    bytes[bytes.size() - 6] ^= std::byte{0x55};
    test::write_file(dir / "bad.tar.gz", bytes);
    auto r = check_image(dir / "bad.tar.gz", "gcp");
    REQUIRE(r.ok());
    CHECK_FALSE(rule_passed(*r, "gzip CRC-32"));
    CHECK(rule_passed(*r, "gzip ISIZE"));
    CHECK_FALSE(r->passed());
  }
  SECTION("a second gzip member") {
    const auto copy = bytes;
    bytes.insert(bytes.end(), copy.begin(), copy.end());
    test::write_file(dir / "two.tar.gz", bytes);
    auto r = check_image(dir / "two.tar.gz", "gcp");
    REQUIRE(r.ok());
    CHECK_FALSE(rule_passed(*r, "file is a single gzip member"));
  }
  SECTION("truncated") {
    bytes.resize(bytes.size() / 2);
    test::write_file(dir / "cut.tar.gz", bytes);
    auto r = check_image(dir / "cut.tar.gz", "gcp");
    REQUIRE(r.ok());
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
  sh("cd '" + d + "' && truncate -s 10M disk.raw && tar --format=oldgnu -Sczf small.tar.gz "
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
  auto name = check_image(dir / "name.tar.gz", "gcp");
  REQUIRE(name.ok());
  CHECK_FALSE(rule_passed(*name, "exactly one member named disk.raw"));
  CHECK(item(*name, "exactly one member")->detail == "members: image.raw");
}
