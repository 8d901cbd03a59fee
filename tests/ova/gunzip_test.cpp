// The gzip'd-member reader (formats/ova/gunzip.h): random and sequential reads of a gunzip_file equal
// the plain bytes at every restart-point spacing (points at block boundaries inside a byte,
// member starts, points thinned when they run out), several members, concurrent readers, and
// the hostile cases (bad CRC, cut short, trailing bytes, empty, a bomb past the limit).
#include <algorithm>
#include <random>
#include <thread>

#include <zlib.h>
#include <catch2/catch.hpp>

#include "formats/ova/gunzip.h"
#include "ova_builder.h"

namespace vdisk::ova {
namespace {

using test::Bytes;

// Data that compresses into many deflate blocks of both kinds: runs, text-like and random bytes.
Bytes mixed(std::size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  Bytes b(n);
  for (std::size_t i = 0; i < n;) {
    const std::size_t run = std::min<std::size_t>(n - i, 1 + rng() % 70000);
    const auto kind = rng() % 3;
    for (std::size_t j = 0; j < run; ++j)
      b[i + j] = kind == 0   ? std::byte{0}
                 : kind == 1 ? static_cast<std::byte>("the quick brown fox "[(i + j) % 20])
                             : static_cast<std::byte>(rng());
    i += run;
  }
  return b;
}

Bytes concat(const Bytes& a, const Bytes& b) {
  Bytes out = a;
  out.insert(out.end(), b.begin(), b.end());
  return out;
}

std::unique_ptr<RandomAccessFile> open_gz(const Bytes& gz, std::uint64_t spacing,
                                          std::uint64_t limit = 1ull << 40) {
  auto f = gunzip_file(memory_file(gz, "t.gz"), limit, "t", spacing);
  INFO(f.status().to_string());
  REQUIRE(f.ok());
  return std::move(*f);
}

void check_reads(const RandomAccessFile& f, const Bytes& plain, unsigned seed) {
  REQUIRE(f.size() == plain.size());
  std::mt19937_64 rng(seed);
  Bytes buf;
  for (int i = 0; i < 300; ++i) {
    const std::uint64_t off = rng() % plain.size();
    const std::size_t n =
        static_cast<std::size_t>(std::min<std::uint64_t>(plain.size() - off, 1 + rng() % 200000));
    buf.resize(n);
    REQUIRE(f.read_at(off, buf).ok());
    REQUIRE(std::equal(buf.begin(), buf.end(), plain.begin() + static_cast<std::ptrdiff_t>(off)));
  }
  // Forward in pieces, then the whole.
  Bytes all(plain.size());
  for (std::size_t off = 0; off < plain.size(); off += 77777) {
    const std::size_t n = std::min<std::size_t>(77777, plain.size() - off);
    REQUIRE(f.read_at(off, std::span(all).subspan(off, n)).ok());
  }
  CHECK(all == plain);
  REQUIRE(f.read_at(0, all).ok());
  CHECK(all == plain);
  Bytes one(1);
  CHECK(f.read_at(plain.size(), one).code() == Errc::out_of_range);
}

TEST_CASE("gunzip_file: reads equal the plain bytes at any spacing", "[ova][gunzip]") {
  const Bytes plain = mixed(6 << 20, 1);
  const Bytes gz = test::gzip_bytes(plain);
  for (std::uint64_t spacing : {1ull, 4096ull, 100000ull, 1ull << 20, 1ull << 40}) {
    INFO("spacing " << spacing);
    check_reads(*open_gz(gz, spacing), plain, static_cast<unsigned>(spacing));
  }
}

TEST_CASE("gunzip_file: several members, including empty ones", "[ova][gunzip]") {
  const Bytes a = mixed(3 << 20, 2), b = mixed(1 << 20, 3);
  const Bytes gz = concat(concat(test::gzip_bytes(a), test::gzip_bytes({})), test::gzip_bytes(b));
  const Bytes plain = concat(a, b);
  for (std::uint64_t spacing : {1ull, 65536ull, 1ull << 20})
    check_reads(*open_gz(gz, spacing), plain, 7);
}

TEST_CASE("gunzip_file: restart points are thinned, never more than the cap", "[ova][gunzip]") {
  // Spacing 1: a point at every block boundary (random bytes: a block per 16 Ki literals, some
  // 1,500 here) until the cap halves them.
  std::mt19937 rng(4);
  Bytes plain(24 << 20);
  for (auto& b : plain) b = static_cast<std::byte>(rng());
  auto gz = test::gzip_bytes(plain);
  check_reads(*open_gz(gz, 1), plain, 9);
}

TEST_CASE("gunzip_file: concurrent readers", "[ova][gunzip]") {
  const Bytes plain = mixed(4 << 20, 5);
  auto f = open_gz(test::gzip_bytes(plain), 65536);
  std::vector<std::thread> threads;
  std::vector<int> bad(4, 0);
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      std::mt19937_64 rng(static_cast<unsigned>(t));
      Bytes buf(50000);
      for (int i = 0; i < 100; ++i) {
        const std::uint64_t off = rng() % (plain.size() - buf.size());
        if (!f->read_at(off, buf).ok() ||
            !std::equal(buf.begin(), buf.end(), plain.begin() + static_cast<std::ptrdiff_t>(off)))
          ++bad[static_cast<std::size_t>(t)];
      }
    });
  for (auto& th : threads) th.join();
  CHECK(bad == std::vector<int>(4, 0));
}

TEST_CASE("gunzip_file: hostile input", "[ova][gunzip]") {
  const Bytes plain = mixed(1 << 20, 6);
  const Bytes gz = test::gzip_bytes(plain);
  auto open = [](const Bytes& b, std::uint64_t limit = 1ull << 40) {
    return gunzip_file(memory_file(b, "t.gz"), limit, "t");
  };
  SECTION("empty") {
    auto f = open({});
    CHECK(f.status().code() == Errc::corrupt);
    CHECK(f.status().message().find("empty") != std::string::npos);
  }
  SECTION("bad CRC") {
    Bytes b = gz;
    b[b.size() - 6] ^= std::byte{1};
    auto f = open(b);
    CHECK(f.status().code() == Errc::corrupt);
    CHECK(f.status().message().find("incorrect data check") != std::string::npos);
  }
  SECTION("bad length") {
    Bytes b = gz;
    b[b.size() - 2] ^= std::byte{1};
    CHECK(open(b).status().code() == Errc::corrupt);
  }
  SECTION("cut short") {
    Bytes b(gz.begin(), gz.end() - 3);
    auto f = open(b);
    CHECK(f.status().code() == Errc::corrupt);
    CHECK(f.status().message().find("ends inside a member") != std::string::npos);
  }
  SECTION("trailing bytes that are not a member") {
    Bytes b = gz;
    b.resize(b.size() + 16, std::byte{0});
    auto f = open(b);
    CHECK(f.status().code() == Errc::corrupt);
    CHECK(f.status().message().find("t.gz: gzip data at offset " + std::to_string(gz.size())) !=
          std::string::npos);
  }
  SECTION("not gzip") { CHECK(open(plain).status().code() == Errc::corrupt); }
  SECTION("a bomb past the limit") {
    const Bytes bomb = test::gzip_bytes(Bytes(64 << 20));
    auto f = open(bomb, 8 << 20);
    CHECK(f.status().code() == Errc::resource_exhausted);
    CHECK(f.status().message().find("more than 8388608 bytes") != std::string::npos);
  }
}

}  // namespace
}  // namespace vdisk::ova
