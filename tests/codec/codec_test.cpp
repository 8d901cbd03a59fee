// Codec engines: every engine compiled in (zlib always, ISA-L and libdeflate when found)
// compresses chunk
// streams that every other engine and a streaming zlib inflate decode to the exact input;
// whole-buffer inflate of zlib-framed and raw deflate is bounded and rejects hostile input.
#include <catch2/catch.hpp>

#include <cstring>
#include <string>

#include <zlib.h>

#include "codec/codec.h"
#include "test_support.h"

using namespace vdisk;
using namespace vdisk::codec;

namespace {

constexpr std::size_t kKiB = 1024;

// Compressible bytes (words from a small vocabulary, like text or code), deterministic.
std::vector<std::byte> texty(std::size_t n, std::uint32_t seed) {
  static const char* const words[] = {"disk ", "sector ", "grain ", "\n", "table ",  "0x1f8b ",
                                      "int ",  "return ", "{ ",     "} ", "vdisk::", "error "};
  std::vector<std::byte> out;
  out.reserve(n);
  std::uint32_t x = seed * 2654435761u + 1;
  while (out.size() < n) {
    x = x * 1664525u + 1013904223u;
    const char* w = words[(x >> 16) % 12];
    for (; *w && out.size() < n; ++w) out.push_back(static_cast<std::byte>(*w));
    if ((x & 0xff) == 7 && out.size() < n) out.push_back(static_cast<std::byte>(x >> 24));
  }
  return out;
}

std::vector<std::byte> deflate_one(Engine e, int level, std::span<const std::byte> dict,
                                   std::span<const std::byte> in, bool last) {
  auto d = make_chunk_deflater(e, level);
  REQUIRE(d.ok());
  OutputBuffer out;
  REQUIRE((*d)->deflate_chunk(dict, in, last, out).ok());
  return {out.begin(), out.end()};
}

// pigz-style: chunks of `chunk` bytes, each primed with the previous 32 KiB.
std::vector<std::byte> deflate_chunked(ChunkDeflater& d, std::span<const std::byte> data,
                                       std::size_t chunk) {
  OutputBuffer out;
  std::size_t at = 0;
  do {
    const std::size_t n = std::min(chunk, data.size() - at);
    const std::size_t dict_from = at > 32 * kKiB ? at - 32 * kKiB : 0;
    REQUIRE(d.deflate_chunk(data.subspan(dict_from, at - dict_from), data.subspan(at, n),
                            at + n == data.size(), out)
                .ok());
    at += n;
  } while (at < data.size());
  return {out.begin(), out.end()};
}

// Streaming raw inflate with zlib, independent of the code under test.
std::vector<std::byte> zlib_stream_inflate_raw(const std::vector<std::byte>& in) {
  z_stream z{};
  REQUIRE(inflateInit2(&z, -15) == Z_OK);
  std::vector<std::byte> out, buf(256 * kKiB);
  z.next_in = reinterpret_cast<Bytef*>(const_cast<std::byte*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    z.next_out = reinterpret_cast<Bytef*>(buf.data());
    z.avail_out = static_cast<uInt>(buf.size());
    rc = inflate(&z, Z_NO_FLUSH);
    REQUIRE((rc == Z_OK || rc == Z_STREAM_END));
    out.insert(out.end(), buf.begin(), buf.end() - z.avail_out);
  }
  CHECK(z.avail_in == 0);
  inflateEnd(&z);
  return out;
}

std::vector<std::byte> zlib_compress(std::span<const std::byte> in, int level) {
  uLongf n = compressBound(static_cast<uLong>(in.size()));
  std::vector<std::byte> out(n);
  REQUIRE(compress2(reinterpret_cast<Bytef*>(out.data()), &n,
                    reinterpret_cast<const Bytef*>(in.data()), static_cast<uLong>(in.size()),
                    level) == Z_OK);
  out.resize(n);
  return out;
}

std::string engine_label(Engine e) { return std::string(engine_name(e)); }

}  // namespace

TEST_CASE("codec: engine list and names") {
  const auto engines = available_engines();
  REQUIRE(!engines.empty());
  CHECK(engines.front() == Engine::zlib);
  CHECK(engine_name(Engine::zlib) == "zlib");
  CHECK(engine_name(Engine::isal) == "isal");
  CHECK(max_level(Engine::zlib) == 9);
  CHECK(max_level(Engine::isal) == 3);
  CHECK(engine_name(Engine::libdeflate) == "libdeflate");
  CHECK(max_level(Engine::libdeflate) == 12);
  CHECK(primes_dictionary(Engine::zlib));
  CHECK(!primes_dictionary(Engine::libdeflate));
#ifdef VDISK_TEST_EXPECT_ISAL
  CHECK(engine_available(Engine::isal));
#endif
#ifdef VDISK_TEST_EXPECT_LIBDEFLATE
  CHECK(engine_available(Engine::libdeflate));
#endif
}

TEST_CASE("codec: deflater rejects bad levels and missing engines") {
  for (Engine e : {Engine::zlib, Engine::isal, Engine::libdeflate}) {
    auto bad = make_chunk_deflater(e, max_level(e) + 1);
    REQUIRE(!bad.ok());
    CHECK(bad.status().code() == Errc::invalid_argument);
    CHECK(!make_chunk_deflater(e, -1).ok());
    CHECK(make_chunk_deflater(e, 1).ok() == engine_available(e));
  }
}

TEST_CASE("codec: chunk streams decode with every engine and with streaming zlib") {
  const auto data = texty(700 * kKiB + 123, 1);
  for (Engine ce : available_engines()) {
    for (int level = 0; level <= max_level(ce); ++level) {
      DYNAMIC_SECTION(engine_label(ce) << " level " << level) {
        auto d = make_chunk_deflater(ce, level);
        REQUIRE(d.ok());
        for (std::size_t chunk : {64 * kKiB, 200 * kKiB + 7, 1024 * kKiB}) {
          const auto z = deflate_chunked(**d, data, chunk);
          CHECK(zlib_stream_inflate_raw(z) == data);
          for (Engine ie : available_engines()) {
            std::vector<std::byte> out(data.size());
            auto n = inflate_zlib_or_raw(ie, z, out);
            REQUIRE(n.ok());
            CHECK(*n == data.size());
            CHECK(out == data);
          }
        }
      }
    }
  }
}

TEST_CASE("codec: the dictionary is used and only its last 32 KiB matter") {
  const auto text = texty(96 * kKiB, 2);
  const std::span<const std::byte> all(text);
  const auto input = all.last(16 * kKiB);  // repeats nothing of the dictionary by chance...
  for (Engine e : available_engines()) {
    if (!primes_dictionary(e)) continue;  // see the libdeflate case below
    const int level = e == Engine::zlib ? 6 : 1;
    DYNAMIC_SECTION(engine_label(e)) {
      // ...so prime with a dictionary that holds the input itself: matches must shrink it.
      std::vector<std::byte> dict(input.begin(), input.end());
      const auto primed = deflate_one(e, level, dict, input, true);
      const auto cold = deflate_one(e, level, {}, input, true);
      CHECK(primed.size() * 4 < cold.size());
      // A longer dictionary with the same last 32 KiB gives the same bytes.
      const auto d32 = all.subspan(all.size() - 48 * kKiB, 32 * kKiB);
      const auto d64 = all.subspan(all.size() - 80 * kKiB, 64 * kKiB);
      CHECK(deflate_one(e, level, d32, input, false) == deflate_one(e, level, d64, input, false));
      // And the primed stream decodes with zlib given the same dictionary.
      z_stream z{};
      REQUIRE(inflateInit2(&z, -15) == Z_OK);
      REQUIRE(inflateSetDictionary(&z, reinterpret_cast<const Bytef*>(dict.data()),
                                   static_cast<uInt>(dict.size())) == Z_OK);
      std::vector<std::byte> out(input.size() + 1);
      z.next_in = reinterpret_cast<Bytef*>(const_cast<std::byte*>(primed.data()));
      z.avail_in = static_cast<uInt>(primed.size());
      z.next_out = reinterpret_cast<Bytef*>(out.data());
      z.avail_out = static_cast<uInt>(out.size());
      CHECK(inflate(&z, Z_FINISH) == Z_STREAM_END);
      out.resize(out.size() - z.avail_out);
      inflateEnd(&z);
      CHECK(std::equal(out.begin(), out.end(), input.begin(), input.end()));
    }
  }
}

TEST_CASE("codec: a deflater's output does not depend on what it compressed before") {
  const auto a = texty(300 * kKiB, 3), b = texty(200 * kKiB, 4);
  const std::span<const std::byte> dict = std::span(a).last(32 * kKiB);
  for (Engine e : available_engines()) {
    for (int level : {1, max_level(e)}) {
      DYNAMIC_SECTION(engine_label(e) << " level " << level) {
        auto used = make_chunk_deflater(e, level);
        REQUIRE(used.ok());
        OutputBuffer scratch;
        REQUIRE((*used)->deflate_chunk({}, a, false, scratch).ok());
        REQUIRE((*used)->deflate_chunk(std::span(b).first(32 * kKiB), a, true, scratch).ok());
        OutputBuffer again;
        REQUIRE((*used)->deflate_chunk(dict, b, false, again).ok());
        CHECK(std::vector<std::byte>(again.begin(), again.end()) ==
              deflate_one(e, level, dict, b, false));
      }
    }
  }
}

TEST_CASE("codec: chunk endings (sync flush, final block, empty input)") {
  const auto data = texty(50 * kKiB, 5);
  for (Engine e : available_engines()) {
    DYNAMIC_SECTION(engine_label(e)) {
      const auto sync = deflate_one(e, 1, {}, data, false);
      // A sync flush ends with an empty stored block: 00 00 ff ff.
      REQUIRE(sync.size() >= 4);
      CHECK(std::memcmp(sync.data() + sync.size() - 4, "\x00\x00\xff\xff", 4) == 0);
      // Empty chunks, final and not, still splice into a valid stream.
      std::vector<std::byte> stream = sync;
      const auto empty_sync = deflate_one(e, 1, data, {}, false);
      const auto empty_final = deflate_one(e, 1, data, {}, true);
      CHECK(!empty_final.empty());
      stream.insert(stream.end(), empty_sync.begin(), empty_sync.end());
      stream.insert(stream.end(), empty_final.begin(), empty_final.end());
      CHECK(zlib_stream_inflate_raw(stream) == data);
      std::vector<std::byte> out(data.size());
      auto n = inflate_zlib_or_raw(e, stream, out);
      REQUIRE(n.ok());
      CHECK(*n == data.size());
    }
  }
}

TEST_CASE("codec: inflate of zlib-framed buffers (VMDK grains) with every engine") {
  const auto grain = texty(64 * kKiB, 6);
  const auto z = zlib_compress(grain, 6);
  REQUIRE(looks_like_zlib(z));
  for (Engine e : available_engines()) {
    DYNAMIC_SECTION(engine_label(e)) {
      std::vector<std::byte> out(grain.size());
      auto n = inflate_zlib_or_raw(e, z, out);
      REQUIRE(n.ok());
      CHECK(*n == grain.size());
      CHECK(out == grain);
      // A larger buffer: the size produced is returned. Trailing input bytes are ignored.
      std::vector<std::byte> big(grain.size() + 4096);
      auto padded = z;
      padded.resize(padded.size() + 300, std::byte{0});
      n = inflate_zlib_or_raw(e, padded, big);
      REQUIRE(n.ok());
      CHECK(*n == grain.size());
      CHECK(std::equal(grain.begin(), grain.end(), big.begin()));
      // The default overload agrees.
      std::fill(out.begin(), out.end(), std::byte{0});
      n = inflate_zlib_or_raw(z, out);
      REQUIRE(n.ok());
      CHECK(out == grain);
    }
  }
}

TEST_CASE("codec: inflate stops at the output bound") {
  const auto data = texty(64 * kKiB, 7);
  const auto framed = zlib_compress(data, 6);
  const auto raw = deflate_one(Engine::zlib, 6, {}, data, true);
  for (Engine e : available_engines()) {
    for (const auto* in : {&framed, &raw}) {
      DYNAMIC_SECTION(engine_label(e) << (in == &raw ? " raw" : " zlib")) {
        std::vector<std::byte> out(data.size() - 1);
        auto n = inflate_zlib_or_raw(e, *in, out);
        REQUIRE(!n.ok());
        CHECK(n.status().code() == Errc::corrupt);
        CHECK(n.status().message().find("more than 65535 bytes") != std::string::npos);
        std::vector<std::byte> none;
        CHECK(!inflate_zlib_or_raw(e, *in, none).ok());
      }
    }
  }
}

TEST_CASE("codec: inflate rejects truncated, corrupted and dictionary streams") {
  const auto data = texty(64 * kKiB, 8);
  const auto framed = zlib_compress(data, 6);
  const auto raw = deflate_one(Engine::zlib, 6, {}, data, true);
  std::vector<std::byte> out(data.size());
  for (Engine e : available_engines()) {
    DYNAMIC_SECTION(engine_label(e)) {
      // Truncated anywhere (zlib: including inside the Adler-32 trailer).
      for (std::size_t cut : {std::size_t{0}, std::size_t{1}, std::size_t{2}, framed.size() / 2,
                              framed.size() - 4, framed.size() - 1}) {
        auto r = inflate_zlib_or_raw(e, std::span(framed).first(cut), out);
        CHECK(!r.ok());
        if (!r.ok()) CHECK(r.status().code() == Errc::corrupt);
      }
      for (std::size_t cut : {raw.size() / 3, raw.size() - 1}) {
        CHECK(!inflate_zlib_or_raw(e, std::span(raw).first(cut), out).ok());
      }
      // A wrong Adler-32.
      auto bad_sum = framed;
      bad_sum.back() ^= std::byte{1};
      auto r = inflate_zlib_or_raw(e, bad_sum, out);
      CHECK(!r.ok());
      // Flipped bits in the body: an error, never a crash (zlib framing catches them all).
      for (std::size_t at = 2; at < framed.size(); at += framed.size() / 17) {
        auto flipped = framed;
        flipped[at] ^= std::byte{0x20};
        CHECK(!inflate_zlib_or_raw(e, flipped, out).ok());
      }
      // Invalid block type 3 in a raw stream.
      const std::byte btype3[] = {std::byte{0x07}, std::byte{0}, std::byte{0}};
      CHECK(!inflate_zlib_or_raw(e, btype3, out).ok());
      // A zlib header asking for a preset dictionary (FDICT).
      std::byte fdict[] = {std::byte{0x78}, std::byte{0}, std::byte{0},
                           std::byte{0},    std::byte{0}, std::byte{1}};
      for (unsigned flg = 0x20; flg < 0x40; ++flg)
        if ((0x78 * 256 + flg) % 31 == 0) fdict[1] = static_cast<std::byte>(flg);
      REQUIRE(looks_like_zlib(fdict));
      r = inflate_zlib_or_raw(e, fdict, out);
      REQUIRE(!r.ok());
      CHECK(r.status().message().find("dictionary") != std::string::npos);
    }
  }
}

TEST_CASE("codec: looks_like_zlib") {
  CHECK(looks_like_zlib(vdisk::test::bytes_of("\x78\x9c")));
  CHECK(looks_like_zlib(vdisk::test::bytes_of("\x78\x01")));
  CHECK(!looks_like_zlib(vdisk::test::bytes_of("\x78\x9d")));
  CHECK(!looks_like_zlib(vdisk::test::bytes_of("\x88\x98")));  // window 2^16
  CHECK(!looks_like_zlib(vdisk::test::bytes_of("\x78")));
}

TEST_CASE("codec: libdeflate chunks are independent and splice at every bit phase") {
  if (!engine_available(Engine::libdeflate)) return;
  const auto data = texty(40 * kKiB, 9);
  const std::span<const std::byte> all(data);
  for (int level : {0, 1, 6, 12}) {
    DYNAMIC_SECTION("level " << level) {
      // The dictionary is ignored: the same bytes with or without one.
      CHECK(deflate_one(Engine::libdeflate, level, all.first(32 * kKiB), all.last(kKiB), false) ==
            deflate_one(Engine::libdeflate, level, {}, all.last(kKiB), false));
      // Many short non-final chunks of varying length end their final block at varying bit
      // positions; each is turned into a non-final block plus an empty stored block.
      std::vector<std::byte> stream;
      std::size_t at = 0;
      for (std::size_t n = 1; at + n < data.size() - 1000; n = n * 7 % 997 + 1) {
        auto part = deflate_one(Engine::libdeflate, level, {}, all.subspan(at, n), false);
        REQUIRE(part.size() >= 4);
        CHECK(std::memcmp(part.data() + part.size() - 4, "\x00\x00\xff\xff", 4) == 0);
        stream.insert(stream.end(), part.begin(), part.end());
        at += n;
      }
      auto tail = deflate_one(Engine::libdeflate, level, {}, all.subspan(at), true);
      stream.insert(stream.end(), tail.begin(), tail.end());
      CHECK(zlib_stream_inflate_raw(stream) == data);
    }
  }
}

TEST_CASE("codec: crc32 equals zlib's, chained and at every length and alignment") {
  const auto data = texty(200 * kKiB + 77, 9);
  const auto zlib_crc = [](std::uint32_t crc, std::span<const std::byte> b) {
    return static_cast<std::uint32_t>(
        ::crc32(crc, reinterpret_cast<const Bytef*>(b.data()), static_cast<uInt>(b.size())));
  };
  CHECK(codec::crc32(0, {}) == 0);
  CHECK(codec::crc32(0x12345678u, {}) == 0x12345678u);
  // "123456789" is the CRC-32 check value of RFC 1952's polynomial.
  const std::string check = "123456789";
  CHECK(codec::crc32(0, std::as_bytes(std::span(check))) == 0xcbf43926u);
  for (std::size_t len : {1u, 3u, 15u, 16u, 63u, 64u, 65u, 255u, 4096u, 65537u}) {
    for (std::size_t shift : {0u, 1u, 7u}) {
      const auto part = std::span(data).subspan(shift, len);
      CHECK(codec::crc32(0, part) == zlib_crc(0, part));
      CHECK(codec::crc32(0xdeadbeefu, part) == zlib_crc(0xdeadbeefu, part));
    }
  }
  // Chained over uneven pieces, equal to the CRC of the whole.
  std::uint32_t chained = 0;
  for (std::size_t at = 0, n = 1; at < data.size(); at += n, n = n * 3 + 1) {
    n = std::min(n, data.size() - at);
    chained = codec::crc32(chained, std::span(data).subspan(at, n));
  }
  CHECK(chained == zlib_crc(0, data));
}
