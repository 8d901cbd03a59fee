// Parallel single-member gzip: decompresses to the exact input with zlib and with real tools,
// identical bytes for any thread count, one member with the right CRC and ISIZE, zero runs
// spliced as precomputed deflate, errors propagate.
#include <catch2/catch.hpp>

#include <array>
#include <cstring>
#include <memory>

#include <zlib.h>

#include "formats/gcp/gzip_sink.h"
#include "test_support.h"
#include "base/endian.h"

using namespace vdisk;
using namespace vdisk::gcp;
using vdisk::test::pattern;

namespace {

constexpr std::size_t kKiB = 1024, kMiB = 1024 * kKiB;

// Inflates a gzip file with zlib; REQUIREs exactly one member.
std::vector<std::byte> gunzip_one_member(const std::vector<std::byte>& gz) {
  z_stream z{};
  REQUIRE(inflateInit2(&z, 16 + 15) == Z_OK);
  std::vector<std::byte> out;
  std::vector<std::byte> buf(1 << 20);
  z.next_in = reinterpret_cast<Bytef*>(const_cast<std::byte*>(gz.data()));
  z.avail_in = static_cast<uInt>(gz.size());
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    z.next_out = reinterpret_cast<Bytef*>(buf.data());
    z.avail_out = static_cast<uInt>(buf.size());
    rc = inflate(&z, Z_NO_FLUSH);
    REQUIRE((rc == Z_OK || rc == Z_STREAM_END));
    out.insert(out.end(), buf.begin(), buf.end() - z.avail_out);
  }
  CHECK(z.avail_in == 0);  // nothing after the first member
  inflateEnd(&z);
  return out;
}

// A script of writes: data pieces and zero runs.
struct Piece {
  std::vector<std::byte> data;
  std::uint64_t zeros = 0;
};

std::vector<Piece> mixed_script() {
  std::vector<Piece> s;
  s.push_back({pattern(300 * kKiB, 1), 0});
  s.push_back({{}, 5 * kMiB + 123});  // long run: spliced segments
  s.push_back({pattern(70 * kKiB, 2), 0});
  s.push_back({{}, 4096});  // short run: compressed as data
  s.push_back({vdisk::test::bytes_of("hello"), 0});
  s.push_back({pattern(3 * kMiB + 17, 3), 0});
  s.push_back({{}, 2 * kMiB});
  return s;
}

std::vector<std::byte> expand(const std::vector<Piece>& script) {
  std::vector<std::byte> all;
  for (const auto& p : script) {
    all.insert(all.end(), p.data.begin(), p.data.end());
    all.resize(all.size() + p.zeros, std::byte{0});
  }
  return all;
}

std::vector<std::byte> compress(const std::vector<Piece>& script, GzipOptions o) {
  std::vector<std::byte> gz;
  auto sink = make_gzip_sink(memory_sink(&gz), o);
  REQUIRE(sink.ok());
  for (const auto& p : script) {
    if (!p.data.empty()) REQUIRE((*sink)->write(p.data).ok());
    if (p.zeros) REQUIRE((*sink)->write_zeroes(p.zeros).ok());
  }
  REQUIRE((*sink)->finish().ok());
  CHECK((*sink)->compressed_bytes() == gz.size());
  return gz;
}

// The same script with every data piece lent: each piece lives in its own heap block held
// only by the keep handed to the sink (so ASan sees any read after the sink lets it go);
// `keeps` gets a weak reference to each.
std::vector<std::byte> compress_lent(const std::vector<Piece>& script, GzipOptions o,
                                     std::vector<std::weak_ptr<const void>>& keeps) {
  std::vector<std::byte> gz;
  auto sink = make_gzip_sink(memory_sink(&gz), o);
  REQUIRE(sink.ok());
  for (const auto& p : script) {
    if (!p.data.empty()) {
      auto owned = std::make_shared<std::vector<std::byte>>(p.data);
      const std::span<const std::byte> view(*owned);
      keeps.push_back(owned);
      REQUIRE((*sink)->write_lent(view, std::move(owned)).ok());
    }
    if (p.zeros) REQUIRE((*sink)->write_zeroes(p.zeros).ok());
  }
  REQUIRE((*sink)->finish().ok());
  CHECK((*sink)->compressed_bytes() == gz.size());
  return gz;
}

}  // namespace

TEST_CASE("gcp gzip: lent data gives the same bytes as copied data and is let go", "[gcp][gzip]") {
  // Pieces that start on and off block boundaries, shorter than a block, spanning several.
  auto script = mixed_script();
  script.push_back({pattern(256 * kKiB, 4), 0});  // whole blocks from a boundary
  script.push_back({pattern(200 * kKiB + 5, 5), 0});
  script.push_back({pattern(64 * kKiB, 6), 0});
  const auto plain = expand(script);
  for (int level : {0, 2, 6, 9}) {
    for (unsigned t : {1u, 3u}) {
      CAPTURE(level, t);
      GzipOptions o;
      o.level = level;
      o.threads = t;
      o.block_bytes = 64 * kKiB;
      std::vector<std::weak_ptr<const void>> keeps;
      const auto gz = compress_lent(script, o, keeps);
      const bool same_as_copied = gz == compress(script, o);
      CHECK(same_as_copied);
      const bool round_trip = gunzip_one_member(gz) == plain;
      CHECK(round_trip);
      for (const auto& k : keeps) CHECK(k.expired());
    }
  }
}

TEST_CASE("gcp gzip: output inflates to the exact input as one member", "[gcp][gzip]") {
  const auto script = mixed_script();
  const auto plain = expand(script);
  GzipOptions o;
  o.threads = 3;
  o.block_bytes = 128 * kKiB;
  const auto gz = compress(script, o);
  CHECK(gunzip_one_member(gz) == plain);
  // Header: magic, deflate, no flags, mtime 0, OS Unix; trailer CRC-32 and ISIZE.
  REQUIRE(gz.size() > 18);
  CHECK(static_cast<int>(gz[0]) == 0x1f);
  CHECK(static_cast<int>(gz[1]) == 0x8b);
  CHECK(static_cast<int>(gz[2]) == 8);
  CHECK(static_cast<int>(gz[3]) == 0);
  const auto tail = std::span(gz).last(8);
  const auto want_crc = static_cast<std::uint32_t>(
      crc32(0, reinterpret_cast<const Bytef*>(plain.data()), static_cast<uInt>(plain.size())));
  CHECK(detail::load_le32(tail.first(4)) == want_crc);
  CHECK(detail::load_le32(tail.last(4)) == static_cast<std::uint32_t>(plain.size()));
  // Zero runs were spliced, not compressed: ~1 KB per MiB of zeros at most.
  CHECK(gz.size() < 3 * kMiB + 500 * kKiB);
}

TEST_CASE("gcp gzip: identical bytes for 1 to 8 threads", "[gcp][gzip]") {
  const auto script = mixed_script();
  GzipOptions o;
  o.block_bytes = 64 * kKiB;
  o.threads = 1;
  const auto ref = compress(script, o);
  for (unsigned t = 2; t <= 8; ++t) {
    o.threads = t;
    CHECK(compress(script, o) == ref);
  }
}

TEST_CASE("gcp gzip: every level's engine gives identical bytes for any thread count",
          "[gcp][gzip]") {
  const auto script = mixed_script();
  const auto plain = expand(script);
  for (int level : {0, 1, 2, 3, 4, 6, 7, 9}) {
    CAPTURE(level);
    GzipOptions o;
    o.level = level;
    o.block_bytes = 64 * kKiB;
    o.threads = 1;
    const auto ref = compress(script, o);
    CHECK(gunzip_one_member(ref) == plain);
    for (unsigned t : {2u, 5u}) {
      o.threads = t;
      CHECK(compress(script, o) == ref);
    }
  }
}

TEST_CASE("gcp gzip: the level to engine table", "[gcp][gzip]") {
  const bool isal = codec::engine_available(codec::Engine::isal);
  for (int level = 1; level <= 3; ++level) {
    CAPTURE(level);
    const auto e = gzip_engine(level);
    CHECK(e.engine == (isal ? codec::Engine::isal : codec::Engine::zlib));
    CHECK(e.level == (isal ? level : 1));
  }
  CHECK(gzip_engine(0).engine == codec::Engine::zlib);
  CHECK(gzip_engine(0).level == 0);
  CHECK(gzip_engine(6).engine == codec::Engine::zlib);
  CHECK(gzip_engine(6).level == 4);
  const bool libdeflate = codec::engine_available(codec::Engine::libdeflate);
  for (int level = 7; level <= 9; ++level) {
    CAPTURE(level);
    const auto e = gzip_engine(level);
    CHECK(e.engine == (libdeflate ? codec::Engine::libdeflate : codec::Engine::zlib));
    const auto i = static_cast<std::size_t>(level - 7);
    CHECK(e.level == (libdeflate ? std::array{9, 10, 12}[i] : std::array{6, 8, 9}[i]));
  }
  // Higher levels never give larger output on compressible data.
  std::vector<Piece> text;
  for (std::uint32_t i = 0; i < 64; ++i) {
    auto p = pattern(4 * kKiB, i % 5);  // repeats: compressible
    text.push_back({std::move(p), 0});
  }
  GzipOptions o;
  o.threads = 2;
  std::size_t prev = SIZE_MAX;
  for (int level : {1, 3, 6, 9}) {
    o.level = level;
    const auto n = compress(text, o).size();
    CAPTURE(level);
    CHECK(n <= prev);
    prev = n;
  }
}

TEST_CASE("gcp gzip: empty input is a valid empty gzip", "[gcp][gzip]") {
  GzipOptions o;
  o.threads = 2;
  const auto gz = compress({}, o);
  CHECK(gunzip_one_member(gz).empty());
  CHECK(detail::load_le32(std::span(gz).last(8).first(4)) == 0u);
  CHECK(detail::load_le32(std::span(gz).last(4)) == 0u);
}

TEST_CASE("gcp gzip: all zero input and levels 0 to 9 round-trip", "[gcp][gzip]") {
  std::vector<Piece> zeros_only = {{{}, 7 * kMiB + 5}};
  GzipOptions o;
  o.threads = 2;
  const auto gz = compress(zeros_only, o);
  CHECK(gunzip_one_member(gz) == expand(zeros_only));
  CHECK(gz.size() < 16 * kKiB);
  std::vector<Piece> text = {{pattern(200 * kKiB, 9), 0}};
  for (int level = 0; level <= 9; ++level) {
    o.level = level;
    CHECK(gunzip_one_member(compress(text, o)) == expand(text));
  }
}

TEST_CASE("gcp gzip: CRC-32 extension over zeros equals zlib's", "[gcp][gzip]") {
  const auto data = pattern(1000, 4);
  auto c = static_cast<std::uint32_t>(crc32(0, reinterpret_cast<const Bytef*>(data.data()), 1000));
  std::vector<std::byte> z(3 * kMiB + 7);
  const auto want = static_cast<std::uint32_t>(
      crc32(c, reinterpret_cast<const Bytef*>(z.data()), static_cast<uInt>(z.size())));
  CHECK(crc32_extend_zeros(c, z.size()) == want);
  CHECK(crc32_extend_zeros(c, 0) == c);
  CHECK(crc32_extend_zeros(0, 1) ==
        static_cast<std::uint32_t>(crc32(0, reinterpret_cast<const Bytef*>(z.data()), 1)));
}

TEST_CASE("gcp gzip: gzip -dc and python gzip read the output", "[gcp][gzip][interop]") {
  const auto script = mixed_script();
  const auto plain = expand(script);
  GzipOptions o;
  o.threads = 2;
  o.level = 1;
  test::TempDir dir;
  test::write_file(dir / "x.gz", compress(script, o));
  test::write_file(dir / "x", plain);
  const std::string want = test::sha256_file(dir / "x");
  std::string out;
  REQUIRE(test::run("gzip -dc '" + (dir / "x.gz").string() + "' | sha256sum", &out) == 0);
  CHECK(out.substr(0, 64) == want);
  REQUIRE(test::run("python3 -c 'import gzip,hashlib,sys; "
                    "print(hashlib.sha256(gzip.open(sys.argv[1]).read()).hexdigest())' '" +
                        (dir / "x.gz").string() + "'",
                    &out) == 0);
  CHECK(out.substr(0, 64) == want);
}

TEST_CASE("gcp gzip: an output error is returned and sticks", "[gcp][gzip]") {
  class FailingSink final : public ByteSink {
   public:
    Status write(std::span<const std::byte> d) override {
      if (pos_ > 1000) return io_error("disk full");
      pos_ += d.size();
      return {};
    }
    Status write_zeroes(std::uint64_t n) override {
      pos_ += n;
      return {};
    }
    std::uint64_t position() const override { return pos_; }
    Status finish() override { return {}; }

   private:
    std::uint64_t pos_ = 0;
  };
  GzipOptions o;
  o.threads = 2;
  o.block_bytes = 64 * kKiB;
  auto sink = make_gzip_sink(std::make_unique<FailingSink>(), o);
  REQUIRE(sink.ok());
  Status s;
  for (int i = 0; i < 64 && s.ok(); ++i)
    s = (*sink)->write(pattern(64 * kKiB, static_cast<std::uint32_t>(i)));
  if (s.ok()) s = (*sink)->finish();
  CHECK(s.code() == Errc::io_error);
  CHECK((*sink)->write(pattern(10, 1)).code() == Errc::io_error);
}

TEST_CASE("gcp gzip: bad options are refused", "[gcp][gzip]") {
  std::vector<std::byte> out;
  GzipOptions o;
  o.level = 10;
  CHECK(make_gzip_sink(memory_sink(&out), o).status().code() == Errc::invalid_argument);
  o.level = 6;
  o.block_bytes = 1000;
  CHECK(make_gzip_sink(memory_sink(&out), o).status().code() == Errc::invalid_argument);
}
