// The zero-scan pre-pass: the refined map reports data exactly where non-zero bytes are (at the
// scan granularity), stays bounded, and a gcp conversion with it stores fewer bytes but the
// same disk content.
#include <catch2/catch.hpp>

#include <algorithm>

#include "formats/gcp/gcp.h"
#include "pipeline/zero_scan.h"
#include "test_support.h"
#include "vdisk/check.h"
#include "vdisk/image.h"

namespace vdisk::test {
namespace {

constexpr std::uint64_t kKiB = 1024, kMiB = 1 << 20;

std::vector<std::byte> sparse_content(std::size_t size) {
  std::vector<std::byte> d(size, std::byte{0});
  const auto p = pattern(size, 4);
  // Data at [0, 64K), one byte at 1 MiB + 5000, [3 MiB, 3 MiB + 10K), and the last byte.
  std::copy_n(p.begin(), 64 * kKiB, d.begin());
  d[kMiB + 5000] = std::byte{1};
  std::copy_n(p.begin(), 10 * kKiB, d.begin() + 3 * kMiB);
  d[size - 1] = std::byte{9};
  return d;
}

std::vector<Extent> map_all(const BlockSource& src) {
  std::vector<Extent> out;
  REQUIRE(src.map(0, src.size(), out).ok());
  return out;
}

}  // namespace

TEST_CASE("zero scan: data where the bytes are, zero elsewhere", "[zero_scan]") {
  const std::size_t size = 4 * kMiB + 512;
  MemorySource src(sparse_content(size));
  PipelineOptions po;
  po.threads = 3;
  auto r = detail::scan_zeroes(src, po);
  REQUIRE(r.ok());
  CHECK(r->scanned_bytes == size);
  const auto map = map_all(*r->source);
  std::vector<Extent> data;
  for (const Extent& e : map)
    if (e.kind == ExtentKind::data) data.push_back(e);
  REQUIRE(data.size() == 4);
  CHECK(data[0] == Extent{0, 64 * kKiB, ExtentKind::data});
  CHECK(data[1] == Extent{kMiB + 4096, 4096, ExtentKind::data});
  CHECK(data[2] == Extent{3 * kMiB, 12 * kKiB, ExtentKind::data});
  CHECK(data[3] == Extent{4 * kMiB, 512, ExtentKind::data});
  CHECK(r->data_bytes == 64 * kKiB + 4096 + 12 * kKiB + 512);
  CHECK(r->runs == 4);
  // Windows see the same map.
  std::vector<Extent> pieces;
  for (std::uint64_t at = 0; at < size; at += 300000)
    REQUIRE(r->source->map(at, std::min<std::uint64_t>(300000, size - at), pieces).ok());
  CHECK(pieces == map);
  std::vector<std::byte> buf(100);
  REQUIRE(r->source->read(3 * kMiB, buf).ok());
  CHECK(buf[0] != std::byte{0});
}

TEST_CASE("zero scan: a bounded map is coarsened, never wrong", "[zero_scan]") {
  std::vector<std::byte> d(2 * kMiB, std::byte{0});
  for (std::size_t at = 0; at < d.size(); at += 16 * kKiB) d[at + 100] = std::byte{1};
  MemorySource src(d);
  detail::ZeroScanOptions zo;
  zo.max_runs = 10;
  auto r = detail::scan_zeroes(src, {}, zo);
  REQUIRE(r.ok());
  CHECK(r->runs <= 10);
  for (const Extent& e : map_all(*r->source))
    if (e.reads_as_zero())
      CHECK(std::all_of(d.begin() + static_cast<std::ptrdiff_t>(e.offset),
                        d.begin() + static_cast<std::ptrdiff_t>(e.end()),
                        [](std::byte b) { return b == std::byte{0}; }));
}

TEST_CASE("zero scan: bad options and read errors", "[zero_scan]") {
  MemorySource src(sparse_content(4 * kMiB));
  detail::ZeroScanOptions zo;
  zo.block_bytes = 1000;
  CHECK(detail::scan_zeroes(src, {}, zo).status().code() == Errc::invalid_argument);
  src.fail_read(1);
  CHECK(detail::scan_zeroes(src, {}).status().code() == Errc::io_error);
}

TEST_CASE("zero scan: gcp with detect_zeroes stores less, same content", "[zero_scan]") {
  TempDir dir;
  // A fully allocated file: its map has no holes, only written zeros.
  write_file(dir / "in.raw", sparse_content(6 * kMiB));
  ConvertOptions o;
  o.target = "gcp";
  o.output.timestamp_unix = 0;
  o.checksums = true;
  auto plain = convert({dir / "in.raw"}, {dir / "plain.tar.gz"}, o);
  REQUIRE(plain.ok());
  o.output.detect_zeroes = true;
  auto scanned = convert({dir / "in.raw"}, {dir / "scan.tar.gz"}, o);
  REQUIRE(scanned.ok());
  CHECK(scanned->zero_scan_read_bytes == 6 * kMiB);
  CHECK(scanned->zero_scan_data_bytes == 64 * kKiB + 4096 + 12 * kKiB + 4096);
  CHECK(scanned->stats.data_bytes < plain->stats.data_bytes);
  CHECK(scanned->checksums->disk_sha256 == plain->checksums->disk_sha256);
  auto a = check_image(dir / "plain.tar.gz", "gcp");
  auto b = check_image(dir / "scan.tar.gz", "gcp");
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  CHECK(a->passed());
  CHECK(b->passed());
}

}  // namespace vdisk::test
