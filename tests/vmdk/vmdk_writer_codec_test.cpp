// The VMDK writer's compression: the codec's whole-buffer zlib compressor (every engine and
// level, inflated by every engine, the stored-block fallback) and the level -> engine table.
#include <algorithm>
#include <catch2/catch.hpp>

#include <cstring>

#include "codec/codec.h"
#include "test_support.h"
#include "formats/vmdk/vmdk_writer.h"

using namespace vdisk;
using namespace vdisk::vmdk;
using vdisk::test::pattern;

namespace {
constexpr std::size_t kG = 64 * 1024;
}  // namespace

TEST_CASE("vmdk writer: level table", "[vmdk][writer]") {
  using codec::Engine;
  CHECK(writer::grain_engine(0).engine == Engine::zlib);
  CHECK(writer::grain_engine(0).level == 0);
  for (int level = 0; level <= 9; ++level) {
    const auto e = writer::grain_engine(level);
    INFO("level " << level);
    CHECK(codec::engine_available(e.engine));
    CHECK(e.level <= codec::max_level(e.engine));
  }
  if (codec::engine_available(Engine::libdeflate)) {
    CHECK(writer::grain_engine(6).engine == Engine::libdeflate);
    CHECK(writer::grain_engine(6).level == 4);
    CHECK(writer::grain_engine(9).level == 12);
  }
}

TEST_CASE("codec BufferCompressor: every engine and level writes zlib every engine inflates",
          "[vmdk][writer][codec]") {
  std::vector<std::byte> text(kG);
  for (std::size_t i = 0; i < text.size(); ++i)
    text[i] = static_cast<std::byte>(static_cast<std::size_t>("grain marker table "[i % 19]));
  const auto noise = pattern(kG, 6);
  std::vector<std::byte> empty;
  const std::vector<std::byte>* inputs[] = {&text, &noise, &empty};
  std::vector<std::byte> packed(codec::zlib_compress_bound(kG)), back(kG);
  for (codec::Engine e : codec::available_engines()) {
    for (int level = 0; level <= codec::max_level(e); ++level) {
      auto c = codec::make_buffer_compressor(e, level);
      REQUIRE(c.ok());
      for (const std::vector<std::byte>* in : inputs) {
        INFO(codec::engine_name(e) << " level " << level << " input " << in->size());
        auto n = (*c)->compress_zlib(*in, packed);
        INFO(n.status().to_string());
        REQUIRE(n.ok());
        CHECK(*n <= codec::zlib_compress_bound(in->size()));
        CHECK(codec::looks_like_zlib(std::span(packed).first(*n)));
        for (codec::Engine d : codec::available_engines()) {
          auto m = codec::inflate_zlib_or_raw(d, std::span(packed).first(*n), back);
          REQUIRE(m.ok());
          CHECK(*m == in->size());
          CHECK(std::equal(in->begin(), in->end(), back.begin()));
        }
      }
      std::vector<std::byte> small(100);
      CHECK((*c)->compress_zlib(text, small).status().code() == Errc::invalid_argument);
    }
  }
  CHECK(codec::make_buffer_compressor(codec::Engine::zlib, 10).status().code() ==
        Errc::invalid_argument);
}
