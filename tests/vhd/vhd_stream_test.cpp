// Fixed VHD from a stream: the footer is held back and validated at the end.
#include <catch2/catch.hpp>

#include "test_support.h"
#include "base/endian.h"
#include "vdisk/image.h"
#include "vhd_builder.h"

using namespace vdisk;
using namespace vdisk::vhd;
using vdisk::test::pattern;

namespace {

Result<std::unique_ptr<StreamSource>> open_vhd_stream(std::vector<std::byte> b) {
  OpenOptions o;
  o.format = "vhd";
  return open_image_stream(memory_stream(std::move(b), "<stdin>"), o);
}

// Reads the whole stream in chunks of `chunk`; returns the status of the last read.
Status drain(StreamSource& s, std::size_t chunk, std::vector<std::byte>& out) {
  std::vector<std::byte> buf(chunk);
  for (;;) {
    auto n = s.read(buf);
    if (!n.ok()) return n.status();
    if (*n == 0) return {};
    out.insert(out.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(*n));
    if (*n < chunk) {
      auto z = s.read(buf);
      if (!z.ok()) return z.status();
      if (*z != 0) return internal_error("data after a short read");
      return {};
    }
  }
}

}  // namespace

TEST_CASE("vhd stream: fixed VHD returns exactly the data before the footer for any chunk size",
          "[vhd][stream]") {
  const auto data = pattern(70000 - 70000 % 512, 4);
  for (std::size_t chunk : {std::size_t{1}, std::size_t{100}, std::size_t{511}, std::size_t{512},
                            std::size_t{513}, std::size_t{4096}, std::size_t{1} << 20}) {
    auto s = open_vhd_stream(test::build_fixed_vhd(data));
    REQUIRE(s.ok());
    CHECK_FALSE((*s)->size().has_value());
    CHECK((*s)->format() == "vhd");
    std::vector<std::byte> out;
    const Status st = drain(**s, chunk, out);
    INFO("chunk " << chunk << ": " << st.to_string());
    REQUIRE(st.ok());
    CHECK(out == data);
  }
}

TEST_CASE("vhd stream: an empty fixed disk is just a footer", "[vhd][stream]") {
  auto s = open_vhd_stream(test::build_fixed_vhd({}));
  REQUIRE(s.ok());
  std::vector<std::byte> out;
  REQUIRE(drain(**s, 4096, out).ok());
  CHECK(out.empty());
}

TEST_CASE("vhd stream: bad footer checksum at the end is corrupt", "[vhd][stream][hostile]") {
  auto b = test::build_fixed_vhd(pattern(8192, 5));
  b[8192 + kOffChecksum] ^= std::byte{4};
  auto s = open_vhd_stream(b);
  REQUIRE(s.ok());
  std::vector<std::byte> out;
  const Status st = drain(**s, 4096, out);
  CHECK(st.code() == Errc::corrupt);
  CHECK(st.message().find("checksum") != std::string::npos);
  CHECK(st.message().find("8192") != std::string::npos);
}

TEST_CASE("vhd stream: current size other than the bytes before the footer is corrupt",
          "[vhd][stream][hostile]") {
  auto b = test::build_fixed_vhd(pattern(8192, 5));
  detail::store_be64(std::span(b).subspan(8192 + kOffCurrentSize), 4096);
  test::reseal_vhd(b);
  auto s = open_vhd_stream(b);
  REQUIRE(s.ok());
  std::vector<std::byte> out;
  const Status st = drain(**s, 1000, out);
  INFO(st.to_string());
  CHECK(st.code() == Errc::corrupt);
  CHECK(st.message().find("current size expected 8192") != std::string::npos);
  CHECK(st.message().find("found 4096") != std::string::npos);
}

TEST_CASE("vhd stream: a stream without a footer at its end is corrupt", "[vhd][stream][hostile]") {
  auto s = open_vhd_stream(pattern(8192, 6));
  REQUIRE(s.ok());
  std::vector<std::byte> out;
  CHECK(drain(**s, 4096, out).code() == Errc::corrupt);
}

TEST_CASE("vhd stream: a non-fixed footer at the end is corrupt", "[vhd][stream][hostile]") {
  auto b = test::build_fixed_vhd(pattern(8192, 5));
  detail::store_be32(std::span(b).subspan(8192 + kOffDiskType), 3);
  test::reseal_vhd(b);
  auto s = open_vhd_stream(b);
  REQUIRE(s.ok());
  std::vector<std::byte> out;
  const Status st = drain(**s, 4096, out);
  CHECK(st.code() == Errc::corrupt);
  CHECK(st.message().find("disk type") != std::string::npos);
}

TEST_CASE("vhd stream: shorter than a footer is corrupt at open", "[vhd][stream][hostile]") {
  auto s = open_vhd_stream(pattern(300, 7));
  REQUIRE_FALSE(s.ok());
  CHECK(s.status().code() == Errc::corrupt);
}

TEST_CASE("vhd stream: a dynamic VHD on a stream is unsupported with a clear message",
          "[vhd][stream]") {
  test::DynamicVhdSpec spec;
  spec.size = 8192;
  auto s = open_vhd_stream(test::build_dynamic_vhd(spec).bytes);
  REQUIRE_FALSE(s.ok());
  CHECK(s.status().code() == Errc::unsupported);
  CHECK(s.status().message().find("dynamic") != std::string::npos);
  // Probed (no format given), a stream starting with "conectix" is also a dynamic VHD.
  auto p = open_image_stream(memory_stream(test::build_dynamic_vhd(spec).bytes), {});
  REQUIRE_FALSE(p.ok());
  CHECK(p.status().code() == Errc::unsupported);
}
