// streamOptimized VMDKs read from a stream: both layouts, grains out of order inside and beyond
// the reorder window, truncation, and the kinds a stream cannot carry.
#include <catch2/catch.hpp>

#include <cstring>

#include "test_support.h"
#include "vdisk/image.h"
#include "vdisk/pipeline.h"
#include "formats/vmdk/vmdk_stream.h"
#include "vmdk_builder.h"

using namespace vdisk;
using namespace vdisk::vmdk::test;
using vdisk::test::pattern;

namespace {

constexpr std::uint64_t kG = 64 * 1024;

// 40 grains + 1536 bytes (partial last grain) with holes.
std::vector<std::byte> disk() {
  auto d = pattern(40 * kG + 1536, 23);
  std::memset(d.data() + 3 * kG, 0, 5 * kG);
  std::memset(d.data() + 20 * kG, 0, 10 * kG);
  return d;
}

// Reads the whole stream through the pipeline; returns the copy status.
Status stream_copy(std::vector<std::byte> image, std::vector<std::byte>& out,
                   std::uint64_t window = vmdk::kStreamWindowBytes, std::size_t chunk = 100 * 1024) {
  auto s = vmdk::open_stream_optimized(memory_stream(std::move(image), "<stdin>"), {}, window);
  if (!s.ok()) return s.status();
  CHECK((*s)->format() == "vmdk");
  vdisk::test::RecordingSink sink;
  PipelineOptions o;
  o.threads = 2;
  o.chunk_bytes = chunk;
  auto st = copy(**s, sink, o);
  out = sink.image;
  return st.status();
}

}  // namespace

TEST_CASE("vmdk stream: both layouts, zlib and raw deflate, any chunk size", "[vmdk][stream]") {
  const auto d = disk();
  for (bool vmware : {true, false}) {
    for (bool raw : {false, true}) {
      for (std::size_t chunk : {std::size_t{64 * 1024}, std::size_t{100 * 1024}, std::size_t{1} << 20}) {
        StreamBuild b;
        b.content = d;
        b.vmware_layout = vmware;
        b.raw_deflate = raw;
        std::vector<std::byte> out;
        const Status st = stream_copy(build_stream(b), out, vmdk::kStreamWindowBytes, chunk);
        INFO("vmware " << vmware << " raw " << raw << " chunk " << chunk << ": " << st.to_string());
        REQUIRE(st.ok());
        CHECK((out == d));
      }
    }
  }
}

TEST_CASE("vmdk stream: reads of any size return the disk in order", "[vmdk][stream]") {
  const auto d = disk();
  for (std::size_t chunk : {std::size_t{1000}, std::size_t{511}, std::size_t{65536 + 7}}) {
    StreamBuild b;
    b.content = d;
    b.reverse_grains = chunk == 511;
    auto s = vmdk::open_stream_optimized(memory_stream(build_stream(b), "<stdin>"), {});
    REQUIRE(s.ok());
    std::vector<std::byte> out, buf(chunk);
    for (;;) {
      auto n = (*s)->read(buf);
      INFO(n.status().to_string());
      REQUIRE(n.ok());
      if (*n == 0) break;
      out.insert(out.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(*n));
    }
    INFO("chunk " << chunk);
    CHECK((out == d));
  }
}

TEST_CASE("vmdk stream: probed through open_image_stream", "[vmdk][stream]") {
  const auto d = disk();
  StreamBuild b;
  b.content = d;
  auto s = open_image_stream(memory_stream(build_stream(b), "<stdin>"), {});
  REQUIRE(s.ok());
  CHECK((*s)->format() == "vmdk");
  REQUIRE((*s)->size());
  CHECK(*(*s)->size() == d.size());
}

TEST_CASE("vmdk stream: grains out of order inside the window are placed by LBA", "[vmdk][stream]") {
  const auto d = disk();
  for (bool vmware : {true, false}) {
    StreamBuild b;
    b.content = d;
    b.vmware_layout = vmware;
    b.reverse_grains = true;
    std::vector<std::byte> out;
    const Status st = stream_copy(build_stream(b), out);
    INFO(st.to_string());
    REQUIRE(st.ok());
    CHECK((out == d));
  }
}

TEST_CASE("vmdk stream: grains out of order beyond the window fail with a clear error",
          "[vmdk][stream]") {
  const auto d = disk();
  for (bool vmware : {true, false}) {
    StreamBuild b;
    b.content = d;
    b.vmware_layout = vmware;
    b.reverse_grains = true;
    std::vector<std::byte> out;
    const Status st = stream_copy(build_stream(b), out, /*window=*/2 * kG);
    INFO(st.to_string());
    CHECK(st.code() == Errc::resource_exhausted);
    CHECK(st.message().find("reorder window") != std::string::npos);
    CHECK(st.message().find("save the image to a file") != std::string::npos);
  }
}

TEST_CASE("vmdk stream: in-order holes need no window", "[vmdk][stream]") {
  // Grain 4 KiB: grain tables cover 2 MiB; data at the start and end of an 8 MiB disk.
  std::vector<std::byte> d(8 << 20);
  const auto a = pattern(300 * 1024, 5), z = pattern(200 * 1024, 6);
  std::memcpy(d.data(), a.data(), a.size());
  std::memcpy(d.data() + d.size() - z.size(), z.data(), z.size());
  for (bool vmware : {true, false}) {
    StreamBuild b;
    b.content = d;
    b.grain_sectors = 8;
    b.vmware_layout = vmware;
    std::vector<std::byte> out;
    const Status st = stream_copy(build_stream(b), out, /*window=*/1);
    INFO(st.to_string());
    REQUIRE(st.ok());
    CHECK((out == d));
  }
}

TEST_CASE("vmdk stream: truncated streams are corrupt", "[vmdk][stream][hostile]") {
  const auto d = disk();
  StreamBuild b;
  b.content = d;
  const auto full = build_stream(b);
  for (std::size_t cut : {std::size_t{100}, std::size_t{4096}, full.size() / 2, full.size() - 512,
                          full.size() - 1}) {
    std::vector<std::byte> img(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(cut));
    std::vector<std::byte> out;
    const Status st = stream_copy(img, out);
    INFO("cut " << cut << ": " << st.to_string());
    CHECK(st.code() == Errc::corrupt);
  }
}

TEST_CASE("vmdk stream: a grain missing from the front tables, or listed but absent",
          "[vmdk][stream][hostile]") {
  const auto d = disk();
  StreamBuild b;
  b.content = d;
  b.vmware_layout = false;
  auto img = build_stream(b);
  // Grain table 0 sits right after the one-sector grain directory at sector 21.
  const std::size_t gt = (kBuiltGdSector + 1) * 512;
  SECTION("listed but never arrives") {
    std::memcpy(img.data() + gt + 3 * 4, img.data() + gt + 2 * 4, 4);  // grain 3 "exists"
    std::vector<std::byte> out;
    const Status st = stream_copy(img, out);
    INFO(st.to_string());
    CHECK(st.code() == Errc::corrupt);
  }
  SECTION("arrives but is not listed") {
    std::memset(img.data() + gt + 1 * 4, 0, 4);
    std::vector<std::byte> out;
    const Status st = stream_copy(img, out);
    INFO(st.to_string());
    CHECK(st.code() == Errc::corrupt);
    CHECK(st.message().find("grain 1 ") != std::string::npos);
  }
}

TEST_CASE("vmdk stream: kinds a stream cannot carry are refused", "[vmdk][stream]") {
  SparseBuild sb;
  sb.content = disk();
  auto s = vmdk::open_stream_optimized(memory_stream(build_sparse(sb), "<stdin>"), {});
  CHECK(s.status().code() == Errc::unsupported);
  auto t = vmdk::open_stream_optimized(
      memory_stream(vdisk::test::bytes_of(make_descriptor("monolithicFlat", 80, "FLAT", "x-flat.vmdk")),
                    "<stdin>"),
      {});
  CHECK(t.status().code() == Errc::unsupported);
  StreamBuild b;
  b.content = disk();
  b.descriptor = make_descriptor("streamOptimized", b.content.size() / 512, "SPARSE", "x.vmdk",
                                 1, 2, "parent.vmdk");
  auto u = vmdk::open_stream_optimized(memory_stream(build_stream(b), "<stdin>"), {});
  CHECK(u.status().code() == Errc::unsupported);
}

TEST_CASE("vmdk stream: builder VMware-layout streams read like qemu-img reads the file",
          "[vmdk][stream][qemu]") {
  vdisk::test::TempDir dir;
  const auto d = disk();
  for (bool reverse : {false, true}) {
    StreamBuild b;
    b.content = d;
    b.reverse_grains = reverse;
    const auto img = build_stream(b);
    vdisk::test::write_file(dir / "s.vmdk", img);
    REQUIRE(vdisk::test::run("qemu-img convert -O raw '" + (dir / "s.vmdk").string() + "' '" +
                             (dir / "q.raw").string() + "'") == 0);
    std::vector<std::byte> out;
    const Status st = stream_copy(img, out);
    INFO(st.to_string());
    REQUIRE(st.ok());
    CHECK((out == vdisk::test::read_file(dir / "q.raw")));
  }
}

TEST_CASE("vmdk stream: unallocated grains reach the sink as zero runs, never read",
          "[vmdk][stream][zero]") {
  const auto d = disk();  // holes: grains 3..7 and 20..29
  const std::vector<Extent> holes = {{3 * kG, 5 * kG, ExtentKind::zero},
                                     {20 * kG, 10 * kG, ExtentKind::zero}};
  for (bool vmware : {true, false}) {
    for (std::size_t chunk : {std::size_t{64 * 1024}, std::size_t{1} << 20}) {
      StreamBuild b;
      b.content = d;
      b.vmware_layout = vmware;
      auto s = vmdk::open_stream_optimized(memory_stream(build_stream(b), "<stdin>"), {});
      REQUIRE(s.ok());
      vdisk::test::RecordingSink sink;
      PipelineOptions o;
      o.threads = 2;
      o.chunk_bytes = chunk;
      o.zero_block_bytes = 0;  // no scan: every zero run comes from the source
      auto st = copy(**s, sink, o);
      INFO("vmware " << vmware << " chunk " << chunk << ": " << st.status().to_string());
      REQUIRE(st.ok());
      CHECK((sink.image == d));
      std::vector<Extent> zeros;
      for (const Extent& e : sink.calls)
        if (e.kind == ExtentKind::zero) zeros.push_back(e);
      CHECK((zeros == holes));
      CHECK(st->zero_bytes == 15 * kG);
      CHECK(st->read_bytes == d.size() - 15 * kG);
      CHECK_FALSE(sink.order_violated);
    }
  }
}

TEST_CASE("vmdk stream: next() returns data runs and zero runs that tile the disk",
          "[vmdk][stream][zero]") {
  const auto d = disk();
  StreamBuild b;
  b.content = d;
  b.reverse_grains = true;
  auto s = vmdk::open_stream_optimized(memory_stream(build_stream(b), "<stdin>"), {});
  REQUIRE(s.ok());
  std::vector<std::byte> out, buf(3 * kG + 100);
  std::vector<Extent> runs;
  for (;;) {
    auto r = (*s)->next(buf);
    INFO(r.status().to_string());
    REQUIRE(r.ok());
    if (r->kind == StreamRun::Kind::end) break;
    REQUIRE(r->length > 0);
    if (r->kind == StreamRun::Kind::zero) {
      runs.push_back({out.size(), r->length, ExtentKind::zero});
      out.resize(out.size() + r->length);
    } else {
      REQUIRE(r->length <= buf.size());
      runs.push_back({out.size(), r->length, ExtentKind::data});
      out.insert(out.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(r->length));
    }
  }
  CHECK((out == d));
  std::vector<Extent> zeros;
  for (const Extent& e : runs)
    if (e.kind == ExtentKind::zero) zeros.push_back(e);
  CHECK((zeros == std::vector<Extent>{{3 * kG, 5 * kG, ExtentKind::zero},
                                      {20 * kG, 10 * kG, ExtentKind::zero}}));
}

TEST_CASE("stream source: the default next() returns read() as data", "[vmdk][stream][zero]") {
  std::vector<std::byte> d(300 * 1024);  // all zeros: a raw stream still reports data
  auto s = open_image_stream(memory_stream(d, "<stdin>"), {});
  REQUIRE(s.ok());
  std::vector<std::byte> buf(128 * 1024);
  std::uint64_t total = 0;
  for (;;) {
    auto r = (*s)->next(buf);
    REQUIRE(r.ok());
    if (r->kind == StreamRun::Kind::end) break;
    CHECK(r->kind == StreamRun::Kind::data);
    total += r->length;
  }
  CHECK(total == d.size());
}
