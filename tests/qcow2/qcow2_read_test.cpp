// Reading well-formed qcow2 images made by the test builder: data, zero and unallocated
// clusters, raw deflate and zstd compressed clusters, extended L2 subclusters, backing files
// (the path rules, a short backing file, loops), the dirty warning, describe() and concurrent
// reads. qemu-made images are covered by interop.qcow2_read.
#include <catch2/catch.hpp>

#include <zstd.h>

#include <cstring>
#include <thread>

#include "qcow2_builder.h"
#include "test_support.h"
#include "vdisk/image.h"

using namespace vdisk;
using vdisk::test::map_disk;
using vdisk::test::pattern;
using vdisk::test::read_disk;
using Bytes = std::vector<std::byte>;

namespace {

constexpr std::uint64_t kCs = 4096;

std::unique_ptr<BlockSource> open_bytes(const Bytes& b, OpenOptions o = {}) {
  auto r = open_image(memory_file(b, "<test.qcow2>"), {}, o);
  INFO(r.status().to_string());
  REQUIRE(r.ok());
  return std::move(*r);
}

Bytes zstd_of(const Bytes& in) {
  Bytes out(ZSTD_compressBound(in.size()));
  const std::size_t n = ZSTD_compress(out.data(), out.size(), in.data(), in.size(), 3);
  REQUIRE_FALSE(ZSTD_isError(n));
  out.resize(n);
  return out;
}

}  // namespace

TEST_CASE("qcow2: data, zero and unallocated clusters read and map exactly", "[qcow2]") {
  for (std::uint32_t version : {2u, 3u}) {
    test::Qcow2Spec spec;
    spec.version = version;
    test::Qcow2Builder b(spec);
    const Bytes c0 = pattern(kCs, 1), c1 = pattern(kCs, 2), c5 = pattern(kCs, 3);
    const std::uint64_t h0 = b.add_data(0, c0);
    b.add_data(1, c1);  // host-contiguous with cluster 0: one read
    b.add_data(5, c5);
    b.set_entry(3, h0 | 1);  // v3: zero flag with a preallocated offset; v2: plain data
    auto src = open_bytes(b.bytes());
    CHECK(src->format() == "qcow2");
    Bytes want(spec.size);
    std::memcpy(want.data(), c0.data(), kCs);
    std::memcpy(want.data() + kCs, c1.data(), kCs);
    std::memcpy(want.data() + 5 * kCs, c5.data(), kCs);
    if (version == 2) std::memcpy(want.data() + 3 * kCs, c0.data(), kCs);  // bit 0 ignored in v2
    CHECK(read_disk(*src) == want);
    const std::vector<Extent> v3 = {
        {0, 2 * kCs, ExtentKind::data},   {2 * kCs, kCs, ExtentKind::unallocated},
        {3 * kCs, kCs, ExtentKind::zero}, {4 * kCs, kCs, ExtentKind::unallocated},
        {5 * kCs, kCs, ExtentKind::data}, {6 * kCs, spec.size - 6 * kCs, ExtentKind::unallocated}};
    std::vector<Extent> expect = v3;
    if (version == 2) expect[2] = {3 * kCs, kCs, ExtentKind::data};
    CHECK(map_disk(*src) == expect);
    // Unaligned reads across cluster boundaries.
    Bytes part(3000);
    REQUIRE(src->read(kCs - 100, part).ok());
    CHECK(std::memcmp(part.data(), want.data() + kCs - 100, part.size()) == 0);
  }
}

TEST_CASE("qcow2: compressed clusters, raw deflate and zstd, share sectors", "[qcow2]") {
  for (bool zstd : {false, true}) {
    test::Qcow2Spec spec;
    spec.zstd = zstd;
    spec.size = 4 * kCs - 1000;  // the last cluster is partial
    test::Qcow2Builder b(spec);
    Bytes c[4];
    for (unsigned i = 0; i < 4; ++i) {
      c[i] = Bytes(kCs, std::byte{static_cast<std::uint8_t>(0x10 + i)});
      std::memcpy(c[i].data() + 100, pattern(200, i + 1).data(), 200);
      // Streams follow each other byte by byte, so a sector holds the end of one and the start
      // of the next.
      b.add_compressed(i, zstd ? zstd_of(c[i]) : test::zlib_compress(c[i], -15));
    }
    auto src = open_bytes(b.bytes());
    Bytes want;
    for (const auto& x : c) want.insert(want.end(), x.begin(), x.end());
    want.resize(spec.size);
    CHECK(read_disk(*src) == want);
    CHECK(map_disk(*src) == std::vector<Extent>{{0, spec.size, ExtentKind::data}});
    CHECK(describe(*src).get("compression_type") == (zstd ? "zstd" : "zlib"));
  }
}

TEST_CASE("qcow2: a zstd cluster split into frames, a frame past the cluster", "[qcow2]") {
  test::Qcow2Spec spec;
  spec.zstd = true;
  spec.size = 2 * kCs;
  test::Qcow2Builder b(spec);
  const Bytes want = pattern(kCs, 5);
  Bytes two = zstd_of(Bytes(want.begin(), want.begin() + kCs / 2));
  const Bytes rest = zstd_of(Bytes(want.begin() + kCs / 2, want.end()));
  two.insert(two.end(), rest.begin(), rest.end());
  b.add_compressed(0, two);
  b.add_compressed(1, zstd_of(Bytes(2 * kCs, std::byte{1})));  // decodes to two clusters
  auto src = open_bytes(b.bytes());
  Bytes got(kCs);
  REQUIRE(src->read(0, got).ok());
  CHECK(got == want);
  const Status past = src->read(kCs, got);
  CHECK(past.code() == Errc::corrupt);
  CHECK_THAT(past.message(), Catch::Contains("compressed cluster") &&
                                 Catch::Contains("decodes past the 4096-byte cluster"));
}

TEST_CASE("qcow2: extended L2 subclusters: allocated, zero, below", "[qcow2]") {
  test::Qcow2Spec spec;
  spec.cluster_bits = 14;  // 16 KiB clusters, 512-byte subclusters
  spec.extended_l2 = true;
  spec.size = 4 * 16384;
  test::Qcow2Builder b(spec);
  const Bytes d = pattern(16384, 9);
  const std::uint64_t host = b.add_data(1, d);
  // Subclusters 0-3 allocated, 4-7 zero, the rest unallocated.
  b.set_entry(1, host | (1ull << 63), 0x0000000F | (0xF0ull << 32));
  auto src = open_bytes(b.bytes());
  Bytes want(spec.size);
  std::memcpy(want.data() + 16384, d.data(), 4 * 512);
  CHECK(read_disk(*src) == want);
  CHECK(map_disk(*src) ==
        std::vector<Extent>{{0, 16384, ExtentKind::unallocated},
                            {16384, 2048, ExtentKind::data},
                            {16384 + 2048, 2048, ExtentKind::zero},
                            {16384 + 4096, spec.size - 16384 - 4096, ExtentKind::unallocated}});
  CHECK(describe(*src).get("extended_l2") == "true");
}

TEST_CASE("qcow2: backing files: raw below, short backing reads zeros, path rules", "[qcow2]") {
  test::TempDir dir;
  const Bytes base = pattern(3 * kCs, 4);  // shorter than the overlay
  test::write_file(dir / "base.raw", base);
  test::Qcow2Spec spec;
  spec.size = 8 * kCs;
  spec.backing_file = "base.raw";
  spec.backing_format = "raw";
  test::Qcow2Builder b(spec);
  const Bytes c1 = pattern(kCs, 5);
  b.add_data(1, c1);
  test::write_file(dir / "top.qcow2", b.bytes());
  std::vector<std::string> notes;
  OpenOptions o;
  o.on_diagnostic = [&](const Diagnostic& d) { notes.push_back(d.message); };
  auto src = open_image(dir / "top.qcow2", o);
  INFO(src.status().to_string());
  REQUIRE(src.ok());
  Bytes want(spec.size);
  std::memcpy(want.data(), base.data(), base.size());
  std::memcpy(want.data() + kCs, c1.data(), kCs);
  CHECK(read_disk(**src) == want);
  const Properties p = describe(**src);
  CHECK(p.get("backing_file") == "base.raw");
  CHECK(p.get("backing_format") == "raw");
  REQUIRE(p.get_object("backing"));
  CHECK(p.get_object("backing")->get("format") == "raw");
  CHECK(p.get_object("backing")->get("virtual_size") == std::to_string(base.size()));
  REQUIRE(notes.size() == 1);
  CHECK(notes[0].find("bytes past the backing file's end read as zeros") != std::string::npos);

  // A backing file outside the directory: refused, unless allowed.
  test::TempDir other;
  test::write_file(other / "base.raw", base);
  spec.backing_file = (other.path() / "base.raw").string();
  test::write_file(dir / "abs.qcow2", test::Qcow2Builder(spec).bytes());
  const Status st = open_image(dir / "abs.qcow2").status();
  CHECK(st.code() == Errc::corrupt);  // invalid input: vdconvert exit 2
  CHECK(st.message().find("lies outside the directory") != std::string::npos);
  OpenOptions allow;
  allow.allow_outside_paths = true;
  CHECK(open_image(dir / "abs.qcow2", allow).ok());
  // qemu pseudo-names are never opened.
  spec.backing_file = "json:{\"file.filename\":\"base.raw\"}";
  test::write_file(dir / "json.qcow2", test::Qcow2Builder(spec).bytes());
  CHECK(open_image(dir / "json.qcow2", allow).status().code() == Errc::unsupported);
  // Without a path the backing file cannot be located.
  CHECK(open_image(memory_file(b.bytes()), {}, {}).status().code() == Errc::not_found);
}

TEST_CASE("qcow2: backing loops and self-reference are refused", "[qcow2]") {
  test::TempDir dir;
  test::Qcow2Spec spec;
  spec.backing_file = "b.qcow2";
  spec.backing_format = "qcow2";
  test::write_file(dir / "a.qcow2", test::Qcow2Builder(spec).bytes());
  spec.backing_file = "a.qcow2";
  test::write_file(dir / "b.qcow2", test::Qcow2Builder(spec).bytes());
  const Status st = open_image(dir / "a.qcow2").status();
  INFO(st.to_string());
  CHECK(st.code() == Errc::corrupt);
  CHECK(st.message().find("loops") != std::string::npos);
  CHECK(st.message().find('\n') == std::string::npos);
  spec.backing_file = "self.qcow2";
  test::write_file(dir / "self.qcow2", test::Qcow2Builder(spec).bytes());
  CHECK(open_image(dir / "self.qcow2").status().code() == Errc::corrupt);
}

TEST_CASE("qcow2: external data file is read raw-style", "[qcow2]") {
  test::TempDir dir;
  Bytes data(8 * kCs);
  const Bytes c2 = pattern(kCs, 6);
  std::memcpy(data.data() + 2 * kCs, c2.data(), kCs);
  test::write_file(dir / "img.data", data);
  test::Qcow2Spec spec;
  spec.size = 8 * kCs;
  spec.data_file = "img.data";
  test::Qcow2Builder b(spec);
  b.set_entry(2, 2 * kCs | (1ull << 63));
  test::write_file(dir / "img.qcow2", b.bytes());
  auto src = open_image(dir / "img.qcow2");
  INFO(src.status().to_string());
  REQUIRE(src.ok());
  Bytes want(spec.size);
  std::memcpy(want.data() + 2 * kCs, c2.data(), kCs);
  CHECK(read_disk(**src) == want);
  CHECK(describe(**src).get("data_file") == "img.data");
  std::filesystem::remove(dir / "img.data");
  const Status st = open_image(dir / "img.qcow2").status();
  CHECK(st.code() == Errc::not_found);
  CHECK(st.message().find("external data file 'img.data'") != std::string::npos);
}

TEST_CASE("qcow2: a dirty image is read with a warning", "[qcow2]") {
  test::Qcow2Spec spec;
  spec.incompatible = 1;  // dirty
  std::vector<Diagnostic> seen;
  OpenOptions o;
  o.on_diagnostic = [&](const Diagnostic& d) { seen.push_back(d); };
  auto src = open_bytes(test::Qcow2Builder(spec).bytes(), o);
  REQUIRE(seen.size() == 1);
  CHECK(seen[0].level == Diagnostic::Level::warning);
  CHECK(seen[0].message.find("qcow2: the image is marked dirty") == 0);
  CHECK(describe(*src).get("dirty") == "true");
}

TEST_CASE("qcow2: concurrent reads agree with one read", "[qcow2]") {
  test::Qcow2Spec spec;
  spec.size = 256 * kCs;
  test::Qcow2Builder b(spec);
  for (std::uint64_t ci = 0; ci < 256; ci += 3)
    b.add_data(ci, pattern(kCs, static_cast<std::uint32_t>(ci)));
  for (std::uint64_t ci = 1; ci < 256; ci += 7)
    b.add_compressed(ci,
                     test::zlib_compress(pattern(kCs, 100 + static_cast<std::uint32_t>(ci)), -15));
  auto src = open_bytes(b.bytes());
  const Bytes whole = read_disk(*src);
  std::vector<std::thread> threads;
  std::atomic<int> bad{0};
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      Bytes buf(5000);
      for (std::uint64_t off = static_cast<std::uint64_t>(t) * 777;
           off + buf.size() <= whole.size(); off += 9999)
        if (!src->read(off, buf).ok() || std::memcmp(buf.data(), whole.data() + off, buf.size()))
          ++bad;
    });
  for (auto& th : threads) th.join();
  CHECK(bad == 0);
}
