// Hostile qcow2 images: each broken field gives a one-line error naming the format, structure
// and offset (corrupt, or unsupported for valid features libvdisk does not read); nothing
// crashes, hangs or allocates without bound.
#include <catch2/catch.hpp>

#include <cstring>

#include "qcow2_builder.h"
#include "test_support.h"
#include "base/endian.h"
#include "vdisk/image.h"

using namespace vdisk;
using vdisk::test::pattern;
using Bytes = std::vector<std::byte>;

namespace {

constexpr std::uint64_t kCs = 4096;

Result<std::unique_ptr<BlockSource>> open_qcow2(const Bytes& b) {
  return open_image(memory_file(b, "<hostile.qcow2>"), {}, {});
}

void expect(const Status& st, Errc code, std::initializer_list<const char*> words) {
  INFO(st.to_string());
  CHECK(st.code() == code);
  CHECK(st.message().find('\n') == std::string::npos);
  CHECK(st.message().rfind("qcow2", 0) == 0);
  for (const char* w : words) CHECK(st.message().find(w) != std::string::npos);
}

// Opens `b` and reads the whole disk; returns the first error.
Status open_and_read(const Bytes& b) {
  auto src = open_qcow2(b);
  if (!src.ok()) return src.status();
  Bytes all(static_cast<std::size_t>((*src)->size()));
  std::vector<Extent> map;
  VDISK_RETURN_IF_ERROR((*src)->map(0, all.size(), map));
  return (*src)->read(0, all);
}

test::Qcow2Builder one_cluster(test::Qcow2Spec spec = {}) {
  test::Qcow2Builder b(spec);
  b.add_data(0, pattern(kCs, 1));
  return b;
}

}  // namespace

TEST_CASE("qcow2 hostile: truncated headers are corrupt, never raw", "[qcow2][hostile]") {
  Bytes b = one_cluster().bytes();
  b.resize(90);  // v3 needs 104
  expect(open_qcow2(b).status(), Errc::corrupt, {"header at offset 0", "104", "found 90"});
  OpenOptions o;
  o.format = "qcow2";
  expect(open_image(memory_file(b), {}, o).status(), Errc::corrupt, {"truncated"});
  b.resize(3);
  CHECK(open_image(memory_file(b), {}, o).status().code() == Errc::corrupt);
}

TEST_CASE("qcow2 hostile: L1 table past the end of the file or absurd", "[qcow2][hostile]") {
  Bytes b = one_cluster().bytes();
  detail::store_be64(std::span(b).subspan(40), 1ull << 40);
  expect(open_qcow2(b).status(), Errc::corrupt, {"header at offset 40", "l1_table_offset"});
  b = one_cluster().bytes();
  detail::store_be32(std::span(b).subspan(36), 0x7fffffff);  // 16 GiB of L1 in a small file
  expect(open_qcow2(b).status(), Errc::corrupt, {"l1_size", "at most"});
  b = one_cluster().bytes();
  detail::store_be64(std::span(b).subspan(40), kCs + 8);  // misaligned
  expect(open_qcow2(b).status(), Errc::corrupt, {"l1_table_offset", "cluster-aligned"});
  b = one_cluster().bytes();
  detail::store_be64(std::span(b).subspan(24), 1ull << 40);  // size beyond what L1 maps
  expect(open_qcow2(b).status(), Errc::corrupt, {"l1_size expected at least"});
}

TEST_CASE("qcow2 hostile: L1 entry past the end or misaligned", "[qcow2][hostile]") {
  test::Qcow2Builder builder = one_cluster();
  Bytes b = builder.bytes();
  detail::store_be64(std::span(b).subspan(builder.l1_offset()), (1ull << 50) | (1ull << 63));
  expect(open_qcow2(b).status(), Errc::corrupt, {"L1 table at offset 4096", "entry 0"});
  b = builder.bytes();
  detail::store_be64(std::span(b).subspan(builder.l1_offset()), builder.l2_offset() + 512);
  expect(open_qcow2(b).status(), Errc::corrupt, {"L1 table", "cluster-aligned"});
}

TEST_CASE("qcow2 hostile: L2 entries past the end, misaligned, bad bitmaps", "[qcow2][hostile]") {
  test::Qcow2Builder b = one_cluster();
  b.set_entry(3, (1ull << 40) | (1ull << 63));
  expect(open_and_read(b.bytes()), Errc::corrupt,
         {"L2 entry at offset", "guest cluster 3", "inside"});
  test::Qcow2Builder m = one_cluster();
  m.set_entry(2, 3 * kCs + 512);
  expect(open_and_read(m.bytes()), Errc::corrupt, {"L2 entry", "cluster-aligned"});

  test::Qcow2Spec x;
  x.cluster_bits = 14;
  x.extended_l2 = true;
  x.size = 4 * 16384;
  test::Qcow2Builder e(x);
  const std::uint64_t host = e.add_data(0, pattern(16384, 2));
  e.set_entry(0, host, 0x1 | (0x1ull << 32));  // subcluster 0 both allocated and zero
  expect(open_and_read(e.bytes()), Errc::corrupt, {"both allocated and zero"});
  e.set_entry(0, 0, 0x1);  // allocated subclusters of an unallocated cluster
  expect(open_and_read(e.bytes()), Errc::corrupt, {"unallocated cluster"});
  x.cluster_bits = 12;  // subclusters of 128 bytes: refused
  x.size = 64 * 4096 / 2;
  expect(open_qcow2(test::Qcow2Builder(x).bytes()).status(), Errc::corrupt,
         {"cluster_bits expected at least 14"});
}

TEST_CASE("qcow2 hostile: compressed clusters past EOF or inflating past a cluster",
          "[qcow2][hostile]") {
  test::Qcow2Builder b = one_cluster();
  const std::uint64_t at = b.add_compressed(1, test::zlib_compress(Bytes(kCs), -15));
  // 16 sectors (the most a 4 KiB cluster's descriptor holds) from near the end of the file.
  b.set_entry(1, (1ull << 62) | (15ull << (62 - 4)) | (at + 10));
  Bytes img = b.bytes();
  expect(open_and_read(img), Errc::corrupt, {"L2 entry", "compressed data", "inside"});
  test::Qcow2Builder big = one_cluster();
  big.add_compressed(1, test::zlib_compress(Bytes(2 * kCs), -15));  // two clusters of zeros
  expect(open_and_read(big.bytes()), Errc::corrupt, {"compressed cluster at offset", "more than"});
  test::Qcow2Builder junk = one_cluster();
  junk.add_compressed(1, pattern(300, 7));  // not a deflate stream
  expect(open_and_read(junk.bytes()), Errc::corrupt, {"compressed cluster"});
  test::Qcow2Spec z;
  z.zstd = true;
  test::Qcow2Builder zj(z);
  zj.add_compressed(0, pattern(300, 8));
  expect(open_and_read(zj.bytes()), Errc::corrupt, {"compressed cluster", "zstd"});
}

TEST_CASE("qcow2 hostile: feature bits, corrupt bit and encryption", "[qcow2][hostile]") {
  test::Qcow2Spec s;
  s.incompatible = 1ull << 9;
  expect(open_qcow2(one_cluster(s).bytes()).status(), Errc::unsupported,
         {"unknown incompatible features 0x200", "bit 9"});
  s.feature_names = {{0, 9, "shiny new thing"}};
  expect(open_qcow2(one_cluster(s).bytes()).status(), Errc::unsupported,
         {"'shiny new thing' (bit 9)"});
  test::Qcow2Spec c;
  c.incompatible = 1ull << 1;
  expect(open_qcow2(one_cluster(c).bytes()).status(), Errc::corrupt, {"'corrupt' (bit 1)"});
  test::Qcow2Spec e;
  e.crypt_method = 2;
  expect(open_qcow2(one_cluster(e).bytes()).status(), Errc::unsupported,
         {"crypt_method 2", "LUKS", "encrypted"});
  test::Qcow2Spec d;
  d.incompatible = 1ull << 2;  // data file bit without a name
  expect(open_qcow2(one_cluster(d).bytes()).status(), Errc::unsupported, {"external data file"});
  Bytes img = one_cluster().bytes();
  img[104] = std::byte{7};
  expect(open_qcow2(img).status(), Errc::unsupported, {"compression_type"});
  img[104] = std::byte{1};  // zstd without its incompatible bit
  expect(open_qcow2(img).status(), Errc::corrupt, {"compression type bit"});
}

TEST_CASE("qcow2 hostile: header extensions and backing names that lie", "[qcow2][hostile]") {
  Bytes img = one_cluster().bytes();
  detail::store_be32(std::span(img).subspan(112), 0x12345678);
  detail::store_be32(std::span(img).subspan(116), 0xfffffff0);
  expect(open_qcow2(img).status(), Errc::corrupt, {"header extension at offset 112", "length"});
  img = one_cluster().bytes();
  detail::store_be64(std::span(img).subspan(8), 4000);   // backing name offset
  detail::store_be32(std::span(img).subspan(16), 2000);  // runs out of cluster 0
  expect(open_qcow2(img).status(), Errc::corrupt, {"backing file name"});
  img = one_cluster().bytes();
  detail::store_be32(std::span(img).subspan(60), 1000);  // snapshots beyond the file
  detail::store_be64(std::span(img).subspan(64), kCs);
  expect(open_qcow2(img).status(), Errc::corrupt, {"snapshots_offset"});
}

TEST_CASE("qcow2 hostile: every byte of a small image flipped opens or fails cleanly",
          "[qcow2][hostile]") {
  test::Qcow2Spec s;
  s.size = 8 * kCs;
  test::Qcow2Builder b(s);
  b.add_data(0, pattern(kCs, 1));
  b.add_compressed(2, test::zlib_compress(pattern(kCs, 2), -15));
  const Bytes good = b.bytes();
  for (std::size_t i = 0; i < 128; ++i)
    for (std::uint8_t v : {std::uint8_t{0xff}, std::uint8_t{0x80}, std::uint8_t{0x01}}) {
      Bytes img = good;
      img[i] = std::byte{v};
      (void)open_and_read(img);  // must not crash; any status is fine
    }
  for (std::size_t i = b.l1_offset(); i < b.l2_offset() + 32; i += 3) {
    Bytes img = good;
    img[i] ^= std::byte{0x5a};
    (void)open_and_read(img);
  }
  SUCCEED();
}

TEST_CASE("qcow2 hostile: L1 entries sharing an L2 table", "[qcow2][hostile]") {
  test::Qcow2Builder b = one_cluster();
  Bytes img = b.bytes();
  detail::store_be64(std::span(img).subspan(24), 4u << 20);  // two L1 entries' reach
  detail::store_be32(std::span(img).subspan(36), 2);
  detail::store_be64(std::span(img).subspan(b.l1_offset() + 8), b.l2_offset() | (1ull << 63));
  expect(open_qcow2(img).status(), Errc::corrupt, {"L1 table at offset 4104", "distinct L2"});
}

TEST_CASE("qcow2 hostile: a 1 PiB sparse disk maps without walking its clusters",
          "[qcow2][hostile]") {
  test::Qcow2Spec s;
  s.cluster_bits = 21;
  s.size = 2u << 20;
  test::Qcow2Builder b(s);
  Bytes img = b.bytes();
  detail::store_be64(std::span(img).subspan(24), 1ull << 50);
  detail::store_be32(std::span(img).subspan(36), 2048);  // 512 GiB per entry
  auto src = open_qcow2(img);
  INFO(src.status().to_string());
  REQUIRE(src.ok());
  std::vector<Extent> map;
  REQUIRE((*src)->map(0, 1ull << 50, map).ok());
  CHECK(map == std::vector<Extent>{{0, 1ull << 50, ExtentKind::unallocated}});
}
