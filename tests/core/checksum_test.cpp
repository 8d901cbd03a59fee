// Checksums: MD5 and CRC-32C against published vectors and a bitwise reference, base64, the
// hashing sink (trailer held back), and convert() with checksums against sha256sum/md5sum.
#include <catch2/catch.hpp>

#include <cstring>
#include <random>

#include "checksum/checksum_sinks.h"
#include "checksum/crc32c.h"
#include "checksum/md5.h"
#include "checksum/sha256.h"
#include "test_support.h"
#include "vdisk/image.h"

namespace vdisk::test {
namespace {

std::string md5_hex(std::string_view s) {
  checksum::Md5 m;
  m.update(std::as_bytes(std::span(s)));
  return checksum::to_hex(m.finish());
}

// Bit-at-a-time CRC-32C straight from the definition.
std::uint32_t crc32c_reference(std::span<const std::byte> data) {
  std::uint32_t c = 0xFFFFFFFFu;
  for (std::byte b : data) {
    c ^= static_cast<std::uint8_t>(b);
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
  }
  return ~c;
}

std::string sha_hex(std::span<const std::byte> data) {
  checksum::Sha256 s;
  s.update(data);
  return s.hex();
}

}  // namespace

TEST_CASE("checksum: MD5 matches RFC 1321's test suite", "[checksum]") {
  CHECK(md5_hex("") == "d41d8cd98f00b204e9800998ecf8427e");
  CHECK(md5_hex("a") == "0cc175b9c0f1b6a831c399e269772661");
  CHECK(md5_hex("abc") == "900150983cd24fb0d6963f7d28e17f72");
  CHECK(md5_hex("message digest") == "f96b697d7cb7938d525a2f31aaf161d0");
  CHECK(md5_hex("abcdefghijklmnopqrstuvwxyz") == "c3fcd3d76192e4007dfb496cca67e13b");
  CHECK(
      md5_hex("12345678901234567890123456789012345678901234567890123456789012345678901234567890") ==
      "57edf4a22be3c955ac49da2e2107b67a");
}

TEST_CASE("checksum: MD5 is the same however the input is cut, zeros included", "[checksum]") {
  const auto data = pattern(300000, 5);
  checksum::Md5 whole;
  whole.update(data);
  const auto want = whole.finish();
  for (std::size_t step : {1u, 63u, 64u, 65u, 4096u, 100001u}) {
    checksum::Md5 m;
    for (std::size_t at = 0; at < data.size(); at += step)
      m.update(std::span(data).subspan(at, std::min(step, data.size() - at)));
    CHECK(m.finish() == want);
  }
  for (std::uint64_t n : {0ull, 1ull, 55ull, 56ull, 64ull, 1000ull, (1ull << 20) + 3}) {
    std::vector<std::byte> zeros(static_cast<std::size_t>(n) + 10, std::byte{0});
    zeros[0] = std::byte{1};
    checksum::Md5 a, b;
    a.update(zeros);
    b.update(std::span(zeros).first(10));
    b.update_zeros(n);
    CHECK(a.finish() == b.finish());
  }
}

TEST_CASE("checksum: CRC-32C matches published vectors and the definition", "[checksum]") {
  const std::string digits = "123456789";
  CHECK(checksum::crc32c(0, std::as_bytes(std::span(digits))) == 0xE3069283u);
  std::vector<std::byte> zeros(32, std::byte{0}), ones(32, std::byte{0xFF});
  CHECK(checksum::crc32c(0, zeros) == 0x8A9136AAu);  // RFC 3720 B.4
  CHECK(checksum::crc32c(0, ones) == 0x62A8AB43u);
  std::vector<std::byte> inc(32);
  for (std::size_t i = 0; i < 32; ++i) inc[i] = static_cast<std::byte>(i);
  CHECK(checksum::crc32c(0, inc) == 0x46DD794Eu);
  const auto data = pattern(100003, 11);
  for (std::size_t n : {0u, 1u, 7u, 8u, 9u, 4095u, 100003u}) {
    const auto part = std::span(data).first(n);
    CHECK(checksum::crc32c(0, part) == crc32c_reference(part));
    CHECK(checksum::crc32c_portable(0, part) == crc32c_reference(part));
  }
  // Incremental, and zero runs in O(log n).
  const std::uint32_t head = checksum::crc32c(0, std::span(data).first(1000));
  CHECK(checksum::crc32c(head, std::span(data).subspan(1000)) == crc32c_reference(data));
  for (std::uint64_t n : {0ull, 1ull, 3ull, 64ull, 1000ull, (1ull << 20) + 5}) {
    std::vector<std::byte> z(static_cast<std::size_t>(n), std::byte{0});
    CHECK(checksum::crc32c_zeros(head, n) == checksum::crc32c(head, z));
  }
}

TEST_CASE("checksum: base64 (RFC 4648 vectors) and the GCS crc32c form", "[checksum]") {
  auto b64 = [](std::string_view s) {
    return checksum::to_base64({reinterpret_cast<const std::uint8_t*>(s.data()), s.size()});
  };
  CHECK(b64("") == "");
  CHECK(b64("f") == "Zg==");
  CHECK(b64("fo") == "Zm8=");
  CHECK(b64("foo") == "Zm9v");
  CHECK(b64("foob") == "Zm9vYg==");
  CHECK(b64("fooba") == "Zm9vYmE=");
  CHECK(b64("foobar") == "Zm9vYmFy");
  // gsutil hash shows crc32c("123456789") = 0xE3069283 as base64 of its big-endian bytes.
  const std::uint8_t be[4] = {0xE3, 0x06, 0x92, 0x83};
  CHECK(checksum::to_base64(be) == "4waSgw==");
}

TEST_CASE("checksum: hashing sink digests the stream and its prefix", "[checksum]") {
  for (std::size_t trailer : {0u, 512u}) {
    std::vector<std::byte> out;
    auto digests = std::make_shared<checksum::ArtifactDigests>();
    auto sink = checksum::hashing_sink(memory_sink(&out), trailer, digests);
    std::mt19937 rng(7);
    const auto data = pattern(1 << 20, 3);
    std::size_t used = 0;
    for (int i = 0; i < 200; ++i) {
      const std::size_t n = rng() % 3000;
      if (rng() % 3 == 0) {
        REQUIRE(sink->write_zeroes(n).ok());
      } else {
        REQUIRE(sink->write(std::span(data).subspan(used % 500000, n)).ok());
        used += n;
      }
    }
    REQUIRE(sink->write(std::span(data).first(100)).ok());  // ends shorter than the trailer
    REQUIRE(sink->finish().ok());
    REQUIRE(digests->done);
    CHECK(digests->bytes == out.size());
    CHECK(digests->sha256 == sha_hex(out));
    CHECK(digests->prefix_bytes == out.size() - trailer);
    CHECK(digests->prefix_sha256 == sha_hex(std::span(out).first(out.size() - trailer)));
    checksum::Md5 m;
    m.update(out);
    CHECK(digests->md5 == checksum::to_hex(m.finish()));
    CHECK(digests->crc32c == crc32c_reference(out));
  }
}

TEST_CASE("checksum: convert reports digests that sha256sum and md5sum agree with", "[checksum]") {
  TempDir dir;
  auto disk = pattern(3 << 20, 21);
  std::fill(disk.begin() + (1 << 20), disk.begin() + (2 << 20), std::byte{0});
  disk.resize((3 << 20) + 1000);
  write_file(dir / "in.raw", disk);
  for (std::string_view t : {std::string_view("raw"), std::string_view("vhd"),
                             std::string_view("azure"), std::string_view("gcp")}) {
    ConvertOptions o;
    o.target = t;
    o.checksums = true;
    o.output.timestamp_unix = 0;
    const auto out = dir / (t == "gcp" ? std::string("out.tar.gz") : "out." + std::string(t));
    auto r = convert({dir / "in.raw"}, {out}, o);
    REQUIRE(r.ok());
    REQUIRE(r->checksums);
    const Checksums& c = *r->checksums;
    CHECK(c.artifact_sha256 == sha256_file(out));
    std::string md5;
    REQUIRE(run("md5sum '" + out.string() + "' | cut -c1-32", &md5) == 0);
    CHECK(c.artifact_md5 + "\n" == md5);
    const auto bytes = read_file(out);
    CHECK(c.artifact_bytes == bytes.size());
    CHECK(c.artifact_crc32c == crc32c_reference(bytes));
    // The virtual disk: the input padded with zeros to the output's virtual size.
    CHECK(c.disk_bytes == r->output_size);
    checksum::Sha256 want;
    want.update(disk);
    want.update_zeros(r->output_size - disk.size());
    CHECK(c.disk_sha256 == want.hex());
  }
}

TEST_CASE("checksum: sha256 matches FIPS 180 vectors", "[checksum]") {
  checksum::Sha256 a;
  CHECK(a.hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  checksum::Sha256 b;
  b.update(bytes_of("abc"));
  CHECK(b.hex() == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  checksum::Sha256 c;
  auto msg = bytes_of("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq");
  c.update(std::span(msg).first(10));
  c.update(std::span(msg).subspan(10));
  CHECK(c.hex() == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  checksum::Sha256 z;  // zeros across the 64-byte block boundary and the padding edge cases
  z.update_zeros(1000003);
  CHECK(z.hex() == "9e3c25400146ab5a01345705a1916a2e76a43c45789e38e14420f4eb47d5e384");
}

}  // namespace vdisk::test
