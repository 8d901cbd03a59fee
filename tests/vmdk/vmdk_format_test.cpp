// Pure codecs: sparse header, markers, footer trio, grain inflation.
#include <catch2/catch.hpp>

#include <cstring>

#include <zlib.h>

#include "test_support.h"
#include "base/endian.h"
#include "formats/vmdk/vmdk_format.h"

using namespace vdisk;
using namespace vdisk::vmdk;

namespace {

// Compares byte vectors without making Catch print megabytes on failure.
inline bool same_bytes(const std::vector<std::byte>& a, const std::vector<std::byte>& b) {
  return a == b;
}

SparseHeader sample() {
  SparseHeader h;
  h.version = 3;
  h.flags = kFlagNewlineTest | kFlagCompressed | kFlagMarkers;
  h.capacity = 204803;
  h.grain_size = 128;
  h.descriptor_offset = 1;
  h.descriptor_size = 20;
  h.num_gtes_per_gt = 512;
  h.rgd_offset = 21;
  h.gd_offset = 38;
  h.overhead = 128;
  h.unclean_shutdown = 1;
  h.compress_algorithm = kCompressDeflate;
  return h;
}

std::vector<std::byte> encoded(const SparseHeader& h) {
  std::vector<std::byte> b(kHeaderSize);
  encode_sparse_header(h, b);
  return b;
}

}  // namespace

TEST_CASE("vmdk: sparse header decodes every field it encodes", "[vmdk][codec]") {
  const SparseHeader h = sample();
  auto r = decode_sparse_header(encoded(h), 0);
  REQUIRE(r.ok());
  CHECK(r->version == 3);
  CHECK(r->flags == h.flags);
  CHECK(r->capacity == 204803);
  CHECK(r->grain_size == 128);
  CHECK(r->descriptor_offset == 1);
  CHECK(r->descriptor_size == 20);
  CHECK(r->num_gtes_per_gt == 512);
  CHECK(r->rgd_offset == 21);
  CHECK(r->gd_offset == 38);
  CHECK(r->overhead == 128);
  CHECK(r->unclean_shutdown == 1);
  CHECK(r->compress_algorithm == 1);
  CHECK(r->compressed());
  CHECK(r->markers());
  CHECK_FALSE(r->zeroed_grains());
  CHECK(r->gd_entries() == 4);  // ceil(204803 / 65536)
}

TEST_CASE("vmdk: sparse header rejects bad magic and versions", "[vmdk][codec]") {
  auto b = encoded(sample());
  b[0] = std::byte{'X'};
  CHECK(decode_sparse_header(b, 0).status().code() == Errc::corrupt);
  for (std::uint32_t v : {0u, 4u, 0xffffffffu}) {
    SparseHeader h = sample();
    h.version = v;
    CHECK(decode_sparse_header(encoded(h), 0).status().code() == Errc::unsupported);
  }
  SparseHeader h = sample();
  h.version = 1;
  CHECK(decode_sparse_header(encoded(h), 0).ok());
  const auto full = encoded(h);
  CHECK(decode_sparse_header(std::span(full).first(100), 0).status().code() == Errc::corrupt);
}

TEST_CASE("vmdk: sparse header bounds grain size, GTEs per GT and capacity", "[vmdk][codec]") {
  for (std::uint64_t gs : {std::uint64_t{0}, std::uint64_t{3}, std::uint64_t{96},
                           kMaxGrainSectors * 2, std::uint64_t{1} << 63}) {
    SparseHeader h = sample();
    h.grain_size = gs;
    INFO(gs);
    CHECK(decode_sparse_header(encoded(h), 0).status().code() == Errc::corrupt);
  }
  for (std::uint64_t gs : {std::uint64_t{1}, std::uint64_t{8}, kMaxGrainSectors}) {
    SparseHeader h = sample();
    h.grain_size = gs;
    CHECK(decode_sparse_header(encoded(h), 0).ok());
  }
  for (std::uint32_t n : {0u, kMaxGtesPerGt + 1, 0xffffffffu}) {
    SparseHeader h = sample();
    h.num_gtes_per_gt = n;
    CHECK(decode_sparse_header(encoded(h), 0).status().code() == Errc::corrupt);
  }
  SparseHeader h = sample();
  h.capacity = kMaxCapacitySectors + 1;
  CHECK(decode_sparse_header(encoded(h), 0).status().code() == Errc::corrupt);
}

TEST_CASE("vmdk: sparse header flag rules", "[vmdk][codec]") {
  SparseHeader h = sample();
  h.flags |= 1u << 20;  // unknown incompatible
  CHECK(decode_sparse_header(encoded(h), 0).status().code() == Errc::unsupported);
  h = sample();
  h.flags |= 1u << 9;  // unknown compatible: fine
  CHECK(decode_sparse_header(encoded(h), 0).ok());
  h = sample();
  h.flags = kFlagMarkers;  // markers without compression
  h.compress_algorithm = 0;
  CHECK(decode_sparse_header(encoded(h), 0).status().code() == Errc::corrupt);
  h = sample();
  h.compress_algorithm = 2;
  CHECK(decode_sparse_header(encoded(h), 0).status().code() == Errc::unsupported);
  h = sample();
  h.compress_algorithm = 0;  // compressed flag but no algorithm
  CHECK(decode_sparse_header(encoded(h), 0).status().code() == Errc::corrupt);
}

TEST_CASE("vmdk: newline bytes are checked only when flag bit 0 is set", "[vmdk][codec]") {
  SparseHeader h = sample();
  auto b = encoded(h);
  b[kOffNewlineChars + 2] = std::byte{'\n'};  // CR lost in text-mode transfer
  auto r = decode_sparse_header(b, 0);
  CHECK(r.status().code() == Errc::corrupt);
  CHECK_THAT(r.status().message(), Catch::Contains("newline"));
  h.flags &= ~kFlagNewlineTest;
  b = encoded(h);
  b[kOffNewlineChars + 2] = std::byte{'\n'};
  CHECK(decode_sparse_header(b, 0).ok());
}

TEST_CASE("vmdk: markers decode value, size and type", "[vmdk][codec]") {
  std::vector<std::byte> m(kMarkerSize);
  encode_metadata_marker(4, MarkerType::grain_table, m);
  Marker k = decode_marker(m);
  CHECK(k.value == 4);
  CHECK(k.size == 0);
  CHECK(k.type == 1);
  CHECK_FALSE(k.is_grain());
  encode_grain_marker_header(0x80, 65562, m);
  k = decode_marker(m);
  CHECK(k.value == 0x80);
  CHECK(k.size == 65562);
  CHECK(k.is_grain());
}

TEST_CASE("vmdk: footer trio is validated marker by marker", "[vmdk][codec]") {
  std::vector<std::byte> trio(kFooterTrioBytes);
  auto make = [&] {
    encode_metadata_marker(1, MarkerType::footer, std::span(trio).subspan(0, 512));
    encode_sparse_header(sample(), std::span(trio).subspan(512, 512));
    encode_metadata_marker(0, MarkerType::eos, std::span(trio).subspan(1024, 512));
  };
  make();
  auto r = decode_footer_trio(trio, 1000);
  REQUIRE(r.ok());
  CHECK(r->gd_offset == 38);
  make();
  detail::store_le32(std::span(trio).subspan(12), 2);  // GD marker instead of footer
  CHECK(decode_footer_trio(trio, 0).status().code() == Errc::corrupt);
  make();
  detail::store_le32(std::span(trio).subspan(1024 + 8), 5);  // EOS with a size
  CHECK(decode_footer_trio(trio, 0).status().code() == Errc::corrupt);
  make();
  SparseHeader at_end = sample();
  at_end.gd_offset = kGdAtEnd;
  encode_sparse_header(at_end, std::span(trio).subspan(512, 512));
  CHECK(decode_footer_trio(trio, 0).status().code() == Errc::corrupt);
}

TEST_CASE("vmdk: grains inflate from zlib and raw deflate to exactly the grain", "[vmdk][codec]") {
  const auto data = vdisk::test::pattern(65536, 3);
  for (int wbits : {15, -15}) {
    const auto packed = test::zlib_compress(data, wbits);
    CHECK(looks_like_zlib(packed) == (wbits > 0));
    std::vector<std::byte> out(65536);
    REQUIRE(inflate_grain(packed, out, 0).ok());
    CHECK(same_bytes(out, data));
    std::vector<std::byte> small(65536 - 512);
    auto r = inflate_grain(packed, small, 77);
    CHECK(r.code() == Errc::corrupt);
    CHECK_THAT(r.message(), Catch::Contains("more than"));
    std::vector<std::byte> big(65536 + 512);
    CHECK(inflate_grain(packed, big, 0).code() == Errc::corrupt);
    CHECK(inflate_grain(std::span(packed).first(packed.size() / 2), out, 0).code() ==
          Errc::corrupt);
  }
  // Incompressible data: the compressed grain is larger than the grain.
  const auto packed = test::zlib_compress(data, 15);
  CHECK(packed.size() > 65536);
}
