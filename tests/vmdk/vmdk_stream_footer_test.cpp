// VMware-layout (GD_AT_END) streams: the footer, grain directory and end of the stream are
// checked from stdin as the file reader checks them, so the same image is accepted or refused
// the same way from a file and from a stream (in order and placed).
#include <catch2/catch.hpp>

#include <cstring>

#include "formats/raw/raw.h"
#include "test_support.h"
#include "base/endian.h"
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

std::vector<std::byte> image() {
  StreamBuild b;
  b.content = pattern(4 * kG + 1536, 17);
  return build_stream(b);
}

// The footer header is the second-last sector of a built VMware-layout image.
std::size_t footer_at(const std::vector<std::byte>& img) { return img.size() - 1024; }

vmdk::SparseHeader footer(const std::vector<std::byte>& img) {
  return *vmdk::decode_sparse_header(std::span(img).subspan(footer_at(img), 512), 0);
}

void set_footer(std::vector<std::byte>& img, const vmdk::SparseHeader& f) {
  vmdk::encode_sparse_header(f, std::span(img).subspan(footer_at(img), 512));
}

Status read_file_path(std::vector<std::byte> img) {
  OpenOptions o;
  o.format = "vmdk";
  auto r = open_image(memory_file(std::move(img)), {}, o);
  if (!r.ok()) return r.status();
  std::vector<std::byte> buf(static_cast<std::size_t>((*r)->size()));
  return (*r)->read(0, buf);
}

Status read_stream(std::vector<std::byte> img, bool placed) {
  auto s = vmdk::open_stream_optimized(memory_stream(std::move(img), "<stdin>"), {});
  if (!s.ok()) return s.status();
  PipelineOptions o;
  o.threads = 2;
  if (placed) {
    std::vector<std::byte> out;
    auto sink = raw::make_sink(memory_sink(&out));
    return copy(**s, *sink, o).status();
  }
  vdisk::test::RecordingSink sink;
  return copy(**s, sink, o).status();
}

// Reads `img` from a file, a stream in order and a stream placed; all must end with `code`
// and, when refused, name `what` in a one-line message.
void same_everywhere(const std::vector<std::byte>& img, Errc code, const std::string& what = "") {
  for (int how = 0; how < 3; ++how) {
    const Status st = how == 0 ? read_file_path(img) : read_stream(img, how == 2);
    INFO((how == 0   ? "file"
          : how == 1 ? "stream in order"
                     : "stream placed")
         << ": " << st.to_string());
    CHECK(st.code() == code);
    if (!what.empty()) CHECK_THAT(st.message(), Catch::Contains(what));
    CHECK(st.message().find('\n') == std::string::npos);
  }
}

}  // namespace

TEST_CASE("vmdk stream footer: a sound image, and one cut inside its last sector, are read",
          "[vmdk][stream][footer]") {
  auto img = image();
  same_everywhere(img, Errc::ok);
  img.resize(img.size() + 100);  // a partial sector after EOS: the file reader ignores it too
  same_everywhere(img, Errc::ok);
}

TEST_CASE("vmdk stream footer: gdOffset past the end of the stream is corrupt",
          "[vmdk][stream][footer][hostile]") {
  auto img = image();
  auto f = footer(img);
  f.gd_offset = img.size() / 512 + 10;
  set_footer(img, f);
  same_everywhere(img, Errc::corrupt, "grain directory at offset");
  for (int how = 1; how < 3; ++how)
    CHECK_THAT(read_stream(img, how == 2).message(), Catch::Contains("lie past the end"));
}

TEST_CASE("vmdk stream footer: a footer that disagrees with the header is corrupt",
          "[vmdk][stream][footer][hostile]") {
  for (int field = 0; field < 3; ++field) {
    auto img = image();
    auto f = footer(img);
    if (field == 0) f.capacity -= 1;
    if (field == 1) f.num_gtes_per_gt = 256;
    if (field == 2) f.flags |= vmdk::kFlagZeroedGrainGte;
    set_footer(img, f);
    INFO("field " << field);
    same_everywhere(img, Errc::corrupt, "(as in the header), found");
  }
}

TEST_CASE("vmdk stream footer: bytes after the end-of-stream marker are corrupt",
          "[vmdk][stream][footer][hostile]") {
  auto img = image();
  img.resize(img.size() + 512);  // the last three sectors are no longer footer marker, footer, EOS
  same_everywhere(img, Errc::corrupt);
}

TEST_CASE("vmdk stream footer: no footer before the end-of-stream marker is corrupt",
          "[vmdk][stream][footer][hostile]") {
  auto img = image();
  // Turn the footer marker and footer into an unknown metadata marker and its sector.
  detail::store_le32(std::span(img).subspan(img.size() - 1536 + 12), 9);
  same_everywhere(img, Errc::corrupt, "footer marker");
}

TEST_CASE("vmdk stream footer: a grain directory entry past the end is corrupt",
          "[vmdk][stream][footer][hostile]") {
  auto img = image();
  const auto f = footer(img);
  detail::store_le32(std::span(img).subspan(f.gd_offset * 512), 0x7fffff00);
  same_everywhere(img, Errc::corrupt, "grain table 0");
}

TEST_CASE("vmdk stream footer: gdOffset or a GD entry not at its marker's table is corrupt",
          "[vmdk][stream][footer][hostile]") {
  // Built layout: ... GT marker, GT (4 sectors), GD marker, GD (1 sector), footer trio.
  const auto sound = image();
  const auto f = footer(sound);
  const std::uint32_t gt = detail::load_le32(std::span(sound).subspan(f.gd_offset * 512));
  SECTION("gdOffset at the grain table") {
    auto img = sound;
    auto g = f;
    g.gd_offset = gt;
    set_footer(img, g);
    same_everywhere(img, Errc::corrupt, "GD marker");
  }
  SECTION("a GD entry at the grain directory") {
    auto img = sound;
    detail::store_le32(std::span(img).subspan(f.gd_offset * 512),
                       static_cast<std::uint32_t>(f.gd_offset));
    same_everywhere(img, Errc::corrupt, "GT marker");
  }
}

TEST_CASE("vmdk stream footer: grain table entries that are not the stream's grains are corrupt",
          "[vmdk][stream][footer][hostile]") {
  const auto sound = image();
  const auto f = footer(sound);
  const std::size_t gt = detail::load_le32(std::span(sound).subspan(f.gd_offset * 512)) * 512;
  SECTION("an entry at another grain's marker (the file reader finds the wrong LBA)") {
    auto img = sound;
    std::memcpy(img.data() + gt + 1 * 4, img.data() + gt + 2 * 4, 4);
    same_everywhere(img, Errc::corrupt);
    CHECK_THAT(read_stream(img, false).message(),
               Catch::Contains("grain table 0 expected to list"));
  }
  SECTION("an entry where no grain is (the file reader finds no marker)") {
    auto img = sound;
    detail::store_le32(std::span(img).subspan(gt + 1 * 4), 2);
    same_everywhere(img, Errc::corrupt);
  }
}

TEST_CASE("vmdk stream footer: a grain the tables leave out is refused from a stream",
          "[vmdk][stream][footer][hostile]") {
  // The file reader (as qemu-img) never sees a grain no table lists and reads zeros there; a
  // stream has already placed it, so it refuses the image rather than give other bytes.
  auto img = image();
  const auto f = footer(img);
  const std::size_t gt = detail::load_le32(std::span(img).subspan(f.gd_offset * 512)) * 512;
  detail::store_le32(std::span(img).subspan(gt + 1 * 4), 0);
  CHECK(read_file_path(img).ok());
  for (bool placed : {false, true}) {
    const Status st = read_stream(img, placed);
    INFO(st.to_string());
    CHECK(st.code() == Errc::corrupt);
    CHECK_THAT(st.message(), Catch::Contains("grain table 0 expected to list the 5 grains"));
  }
}
