// The last grain of a disk whose capacity is not a grain multiple, stored as a whole grain
// (VMware compresses it zero-padded past the disk's end; qemu-img reads it): accepted from a file
// and from a stream (in order and placed), the bytes past the end dropped, a warning when they
// are not zero; a grain that inflates past a whole grain, or short of the disk's end, is corrupt.
#include <catch2/catch.hpp>

#include <cstring>
#include <mutex>

#include "formats/raw/raw.h"
#include "test_support.h"
#include "vdisk/image.h"
#include "vdisk/pipeline.h"
#include "formats/vmdk/vmdk_format.h"
#include "formats/vmdk/vmdk_stream.h"
#include "vmdk_builder.h"

using namespace vdisk;
using namespace vdisk::vmdk::test;
using vdisk::test::pattern;

namespace {

constexpr std::uint64_t kG = 64 * 1024;

// Two grains and three sectors: the last grain holds 1536 bytes of the disk.
std::vector<std::byte> disk() { return pattern(2 * kG + 3 * 512, 41); }

std::vector<std::byte> image(bool vmware, std::size_t last_bytes, std::byte fill = std::byte{0},
                             bool reverse = false) {
  StreamBuild b;
  b.content = disk();
  b.vmware_layout = vmware;
  b.reverse_grains = reverse;
  b.last_grain_bytes = last_bytes;
  b.last_grain_fill = fill;
  return build_stream(b);
}

struct Warnings {
  std::mutex m;
  std::vector<std::string> seen;
  OpenOptions options() {
    OpenOptions o;
    o.on_diagnostic = [this](const Diagnostic& d) {
      std::lock_guard lock(m);
      if (d.level == Diagnostic::Level::warning) seen.push_back(d.message);
    };
    return o;
  }
};

Status read_file_path(std::vector<std::byte> img, std::vector<std::byte>& out, Warnings& w) {
  OpenOptions o = w.options();
  o.format = "vmdk";
  auto r = open_image(memory_file(std::move(img)), {}, o);
  if (!r.ok()) return r.status();
  out.assign(static_cast<std::size_t>((*r)->size()), std::byte{0});
  // Twice, once in small pieces: the grain is inflated again, the warning is given once.
  VDISK_RETURN_IF_ERROR((*r)->read(0, out));
  for (std::size_t at = 0; at < out.size(); at += 1000)
    VDISK_RETURN_IF_ERROR(
        (*r)->read(at, std::span(out).subspan(at, std::min<std::size_t>(1000, out.size() - at))));
  return {};
}

Status read_stream(std::vector<std::byte> img, std::vector<std::byte>& out, Warnings& w,
                   bool placed) {
  auto s = vmdk::open_stream_optimized(memory_stream(std::move(img), "<stdin>"), w.options());
  if (!s.ok()) return s.status();
  PipelineOptions o;
  o.threads = 2;
  o.chunk_bytes = 64 * 1024;
  if (placed) {
    out.clear();
    auto sink = raw::make_sink(memory_sink(&out));
    REQUIRE(sink->can_write_at());
    o.place_pieces = true;
    auto st = copy(**s, *sink, o);
    out.resize(disk().size());
    return st.status();
  }
  vdisk::test::RecordingSink sink;
  auto st = copy(**s, sink, o);
  out = sink.image;
  return st.status();
}

// Every way of reading `img`: file, stream in order, stream placed.
template <typename F>
void each_reader(const std::vector<std::byte>& img, F&& check) {
  for (int how = 0; how < 3; ++how) {
    Warnings w;
    std::vector<std::byte> out;
    const Status st = how == 0 ? read_file_path(img, out, w) : read_stream(img, out, w, how == 2);
    INFO((how == 0   ? "file"
          : how == 1 ? "stream in order"
                     : "stream placed")
         << ": " << st.to_string());
    check(st, out, w.seen);
  }
}

}  // namespace

TEST_CASE("vmdk last grain: stored as a whole zero-padded grain is read, no warning",
          "[vmdk][stream][last-grain]") {
  const auto d = disk();
  for (bool vmware : {true, false}) {
    for (bool reverse : {false, true}) {
      INFO("vmware " << vmware << " reverse " << reverse);
      each_reader(image(vmware, kG, std::byte{0}, reverse),
                  [&](const Status& st, const std::vector<std::byte>& out, const auto& warnings) {
                    REQUIRE(st.ok());
                    CHECK((out == d));
                    CHECK(warnings.empty());
                  });
    }
  }
}

TEST_CASE("vmdk last grain: inflating to part of a grain past the end is read too",
          "[vmdk][stream][last-grain]") {
  const auto d = disk();
  each_reader(image(true, 4096),
              [&](const Status& st, const std::vector<std::byte>& out, const auto& w) {
                REQUIRE(st.ok());
                CHECK((out == d));
                CHECK(w.empty());
              });
}

TEST_CASE("vmdk last grain: non-zero bytes past the end are dropped with one warning",
          "[vmdk][stream][last-grain]") {
  const auto d = disk();
  each_reader(image(true, kG, std::byte{0x5a}),
              [&](const Status& st, const std::vector<std::byte>& out, const auto& warnings) {
                REQUIRE(st.ok());
                CHECK((out == d));
                REQUIRE(warnings.size() == 1);
                CHECK_THAT(warnings[0], Catch::Contains("last grain") &&
                                            Catch::Contains("past the end") &&
                                            Catch::Contains("dropped"));
              });
}

TEST_CASE("vmdk last grain: more than a whole grain, or short of the disk's end, is corrupt",
          "[vmdk][stream][last-grain][hostile]") {
  for (std::size_t bytes : {std::size_t{kG + 512}, std::size_t{1024}}) {
    INFO("last grain compressed as " << bytes << " bytes");
    each_reader(image(true, bytes),
                [&](const Status& st, const std::vector<std::byte>&, const auto&) {
                  CHECK(st.code() == Errc::corrupt);
                  CHECK_THAT(st.message(),
                             Catch::Contains("compressed grain") && Catch::Contains("inflates to"));
                });
  }
}

TEST_CASE("vmdk last grain: inflate_last_grain bounds", "[vmdk][format][last-grain]") {
  const auto whole = pattern(kG, 3);
  // Through the builder's deflate: a one-grain disk of 1536 bytes whose grain holds 64 KiB.
  StreamBuild b;
  b.content = std::vector<std::byte>(whole.begin(), whole.begin() + 1536);
  b.last_grain_bytes = kG;
  b.last_grain_fill = std::byte{1};
  const auto img = build_stream(b);
  const auto m = vmdk::decode_marker(std::span(img).subspan(128 * 512));
  REQUIRE(m.is_grain());
  const auto packed = std::span(img).subspan(128 * 512 + vmdk::kGrainMarkerHeader, m.size);
  std::vector<std::byte> out(1536);
  auto r = vmdk::inflate_last_grain(packed, out, kG, 7);
  REQUIRE(r.ok());
  CHECK(*r);  // the fill bytes are not zero
  CHECK(std::memcmp(out.data(), whole.data(), out.size()) == 0);
  std::vector<std::byte> small(1536);
  CHECK(vmdk::inflate_last_grain(packed, small, kG / 2, 7).status().code() == Errc::corrupt);
}
