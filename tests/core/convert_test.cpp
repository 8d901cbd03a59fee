// convert(): end to end through the public API with raw and fixed-VHD outputs; failures leave no
// output behind.
#include <catch2/catch.hpp>

#include <cstring>

#include "test_support.h"
#include "vdisk/image.h"
#include "formats/vhd/vhd_footer.h"

using namespace vdisk;
using vdisk::test::pattern;
using vdisk::test::read_file;
using vdisk::test::TempDir;

namespace {

constexpr std::uint64_t kMiB = 1 << 20;

ConvertOptions pinned(std::string_view t) {
  ConvertOptions o;
  o.target = t;
  o.sync = false;
  o.output.timestamp_unix = 1700000000;
  o.output.unique_id =
      std::array<std::uint8_t, 16>{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
  return o;
}

std::size_t entries_in(const std::filesystem::path& dir) {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir)) ++n;
  return n;
}

// A stream that fails after `good` bytes.
class FailingStream final : public InputStream {
 public:
  explicit FailingStream(std::size_t good) : good_(good) {}
  Result<std::size_t> read(std::span<std::byte> dst) override {
    if (pos_ >= good_) return io_error("stream: injected failure");
    const std::size_t n = std::min(dst.size(), good_ - pos_);
    std::memset(dst.data(), 0x5a, n);
    pos_ += n;
    return n;
  }
  const std::string& name() const override { return name_; }

 private:
  std::size_t good_, pos_ = 0;
  std::string name_ = "<failing>";
};

}  // namespace

TEST_CASE("convert: raw to azure pads to 20 MiB and appends a valid footer", "[convert]") {
  TempDir dir;
  auto data = pattern(3 * kMiB + 512, 11);
  vdisk::test::write_file(dir / "in.raw", data);
  std::vector<std::string> notes;
  auto o = pinned("azure");
  o.open.on_diagnostic = [&](const Diagnostic& d) { notes.push_back(d.message); };
  auto r = convert({dir / "in.raw"}, {dir / "out.vhd"}, o);
  REQUIRE(r.ok());
  CHECK(r->source_format == "raw");
  CHECK(r->output_size == 20 * kMiB);
  CHECK(r->output_bytes == 20 * kMiB + 512);
  auto out = read_file(dir / "out.vhd");
  REQUIRE(out.size() == 20 * kMiB + 512);
  CHECK(std::equal(data.begin(), data.end(), out.begin()));
  CHECK(std::all_of(out.begin() + static_cast<std::ptrdiff_t>(data.size()), out.end() - 512,
                    [](std::byte b) { return b == std::byte{0}; }));
  auto f = vhd::decode_footer(std::span(out).subspan(20 * kMiB), 20 * kMiB);
  REQUIRE(f.ok());
  CHECK(f->current_size == 20 * kMiB);
  CHECK(f->checksum == vhd::footer_checksum(std::span(out).subspan(20 * kMiB)));
  REQUIRE(notes.size() == 1);
  CHECK(notes[0].find("padded") != std::string::npos);
}

TEST_CASE("convert: the same input and options give identical bytes for any thread count",
          "[convert]") {
  TempDir dir;
  vdisk::test::write_file(dir / "in.raw", pattern(21 * kMiB + 4096, 12));
  std::vector<std::byte> first;
  for (unsigned t : {1u, 2u, 3u, 8u}) {
    auto o = pinned("azure");
    o.pipeline.threads = t;
    o.pipeline.chunk_bytes = 1 * kMiB;
    const auto out = dir / ("out" + std::to_string(t) + ".vhd");
    REQUIRE(convert({dir / "in.raw"}, {out}, o).ok());
    if (first.empty())
      first = read_file(out);
    else
      CHECK(read_file(out) == first);
  }
}

TEST_CASE("convert: a VHD output is probed and reads back as the padded disk", "[convert]") {
  TempDir dir;
  auto data = pattern(5 * kMiB, 13);
  vdisk::test::write_file(dir / "in.raw", data);
  REQUIRE(convert({dir / "in.raw"}, {dir / "out.vhd"}, pinned("vhd")).ok());
  REQUIRE(convert({dir / "out.vhd"}, {dir / "back.raw"}, pinned("raw")).ok());
  CHECK(read_file(dir / "back.raw") == data);
  auto src = open_image(dir / "out.vhd");
  REQUIRE(src.ok());
  CHECK((*src)->format() == "vhd");
  CHECK(describe(**src).get("virtual_size") == std::to_string(5 * kMiB));
}

TEST_CASE("convert: refuses to write over its input", "[convert]") {
  TempDir dir;
  vdisk::test::write_file(dir / "in.raw", pattern(kMiB, 1));
  std::filesystem::create_hard_link(dir / "in.raw", dir / "link.raw");
  auto o = pinned("raw");
  o.overwrite = true;
  auto r = convert({dir / "in.raw"}, {dir / "link.raw"}, o);
  CHECK(r.status().code() == Errc::invalid_argument);
  CHECK(read_file(dir / "in.raw") == pattern(kMiB, 1));
}

TEST_CASE("convert: an existing output is kept unless overwrite is set", "[convert]") {
  TempDir dir;
  vdisk::test::write_file(dir / "in.raw", pattern(kMiB, 1));
  vdisk::test::write_file(dir / "out.raw", pattern(10, 2));
  CHECK(convert({dir / "in.raw"}, {dir / "out.raw"}, pinned("raw")).status().code() ==
        Errc::already_exists);
  CHECK(read_file(dir / "out.raw") == pattern(10, 2));
}

TEST_CASE("convert: a bad input creates no output", "[convert]") {
  TempDir dir;
  vdisk::test::write_file(dir / "bad.vhd", pattern(4096, 1));
  auto o = pinned("raw");
  o.open.format = "vhd";
  auto r = convert({dir / "bad.vhd"}, {dir / "out.raw"}, o);
  CHECK(r.status().code() == Errc::corrupt);
  CHECK_FALSE(std::filesystem::exists(dir / "out.raw"));
  CHECK(entries_in(dir.path()) == 1);
}

TEST_CASE("convert: an unknown input format is an invalid argument", "[convert]") {
  TempDir dir;
  vdisk::test::write_file(dir / "in.raw", pattern(4096, 1));
  auto o = pinned("raw");
  o.open.format = "qcow7";
  CHECK(convert({dir / "in.raw"}, {dir / "out.raw"}, o).status().code() == Errc::invalid_argument);
}

TEST_CASE("convert: a read error mid-stream leaves no output", "[convert][stream]") {
  TempDir dir;
  auto o = pinned("vhd");
  o.pipeline.chunk_bytes = 1 * kMiB;
  auto r =
      convert({"<failing>", std::make_unique<FailingStream>(3 * kMiB + 100)}, {dir / "out.vhd"}, o);
  CHECK(r.status().code() == Errc::io_error);
  CHECK(entries_in(dir.path()) == 0);
}

TEST_CASE("convert: a raw stream of unknown size converts to azure", "[convert][stream]") {
  TempDir dir;
  auto data = pattern(21 * kMiB + 7, 5);
  auto r = convert({"<mem>", memory_stream(data)}, {dir / "out.vhd"}, pinned("azure"));
  REQUIRE(r.ok());
  CHECK(r->source_size == data.size());
  CHECK(r->output_size == 22 * kMiB);
  CHECK(read_file(dir / "out.vhd").size() == 22 * kMiB + 512);
}

TEST_CASE("convert: cancellation leaves no output", "[convert]") {
  TempDir dir;
  vdisk::test::write_file(dir / "in.raw", pattern(16 * kMiB, 3));
  std::stop_source stop;
  auto o = pinned("raw");
  o.pipeline.chunk_bytes = 1 * kMiB;
  o.on_progress = [&](const Progress& p) {
    if (p.done_bytes >= 4 * kMiB) stop.request_stop();
  };
  auto r = convert({dir / "in.raw"}, {dir / "out.raw"}, o, stop.get_token());
  CHECK(r.status().code() == Errc::cancelled);
  CHECK(entries_in(dir.path()) == 1);
}

TEST_CASE("convert: azure refuses a source above 32 TiB before writing", "[convert]") {
  CHECK(target_virtual_size("azure", (32ull << 40) + 1).status().code() == Errc::invalid_argument);
  CHECK(*target_virtual_size("azure", 32ull << 40) == 32ull << 40);
  CHECK(*target_virtual_size("azure", 0) == 20 * kMiB);
  CHECK(*target_virtual_size("azure", 100 * kMiB) == 100 * kMiB);
  CHECK(*target_virtual_size("azure", 100 * kMiB + 1) == 101 * kMiB);
  CHECK(*target_virtual_size("vhd", 1000) == 1024);
  CHECK(*target_virtual_size("raw", 1000) == 1000);
}
