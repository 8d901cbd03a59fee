// The GRUB repack from a stream (formats/iso9660/livecd/repack.h "Streaming form", iso_capture.h): for ISOs made
// by xorriso with Rock Ridge, Joliet only and plain names, the stream gives the same disk byte
// for byte as the repack over the file, in any chunk size, keeping only the tree and small
// files; streams that end early or run on, configuration files the capture did not keep, and
// directories that lie before the record naming them fail with one line.
#include <catch2/catch.hpp>

#include <cstring>
#include <filesystem>
#include <string>

#include "grub_test_util.h"
#include "hybrid_test_util.h"
#include "formats/iso9660/livecd/boot_config.h"
#include "formats/iso9660/livecd/iso_capture.h"
#include "formats/iso9660/livecd/repack.h"
#include "test_support.h"
#include "base/endian.h"

using namespace vdisk;
using namespace vdisk::livecd;
using vdisk::test::TempDir;
namespace fs = std::filesystem;

namespace {

using vdisk::test::grub;

RepackImages images() { return {grub().boot_image, grub().core_image, grub().efi_image}; }

void sh(const std::string& cmd) {
  INFO(cmd);
  REQUIRE(vdisk::test::run(cmd + " >/dev/null 2>&1") == 0);
}

// A live-ISO-shaped tree: isolinux.cfg INCLUDEs menu.cfg (the default label is there), a GRUB
// configuration, a kernel and initrd, and a large file that sorts before isolinux/ (as
// LiveOS/squashfs.img does), so the configuration's data follows it in the stream.
fs::path make_iso(const TempDir& t, const std::string& name, const std::string& flags) {
  const fs::path src = t / ("src-" + name);
  fs::create_directories(src / "isolinux");
  fs::create_directories(src / "LiveOS");
  fs::create_directories(src / "boot/grub");
  vdisk::test::write_file(src / "isolinux/isolinux.cfg",
                          vdisk::test::bytes_of("ui vesamenu.c32\ninclude menu.cfg\n"));
  vdisk::test::write_file(src / "isolinux/menu.cfg",
                          vdisk::test::bytes_of("menu default\nlabel live\n  kernel vmlinuz0\n"
                                                "  append initrd=initrd0.img "
                                                "root=live:CDLABEL=STREAMED rd.live.image\n"));
  vdisk::test::write_file(src / "isolinux/vmlinuz0", vdisk::test::pattern(200000, 1));
  vdisk::test::write_file(src / "isolinux/initrd0.img", vdisk::test::pattern(150000, 2));
  vdisk::test::write_file(src / "LiveOS/squashfs.img", vdisk::test::pattern(3 << 20, 3));
  vdisk::test::write_file(
      src / "boot/grub/grub.cfg",
      vdisk::test::bytes_of("menuentry live {\n linux /isolinux/vmlinuz0\n}\n"));
  const fs::path iso = t / (name + ".iso");
  sh("xorriso -as mkisofs -quiet " + flags + " -V STREAMED -o '" + iso.string() + "' '" +
     src.string() + "'");
  return iso;
}

// The entry the repack boots, as boot_disk.cpp picks it: the BIOS configuration's default.
Result<BootEntry> choose(const iso9660::Volume& v) {
  VDISK_ASSIGN_OR_RETURN(const BootConfigs c, read_boot_configs(v, {}));
  if (c.bios) return *c.bios;
  if (c.efi) return *c.efi;
  return not_found("no entry: " + c.bios_problem + "; " + c.efi_problem);
}

// Reads the whole stream in `chunk`-byte next() calls; `error` gets the first failure.
std::vector<std::byte> drain(StreamSource& s, std::size_t chunk, Status& error) {
  return vdisk::test::hybrid::drain(s, error, chunk);
}

std::unique_ptr<StreamSource> stream_of(std::vector<std::byte> bytes, bool state_size) {
  struct S final : StreamSource {
    std::vector<std::byte> b;
    std::size_t at = 0;
    bool stated = false;
    std::optional<std::uint64_t> size() const override {
      return stated ? std::optional<std::uint64_t>(b.size()) : std::nullopt;
    }
    Result<std::size_t> read(std::span<std::byte> dst) override {
      // Odd short reads, as a pipe gives.
      const std::size_t n = std::min({dst.size(), b.size() - at, std::size_t{70001}});
      if (n) std::memcpy(dst.data(), b.data() + at, n);
      at += n;
      return n;
    }
    std::string_view format() const override { return "raw"; }
  };
  auto s = std::make_unique<S>();
  s->b = std::move(bytes);
  s->stated = state_size;
  return s;
}

std::vector<std::byte> file_repack(const fs::path& iso) {
  auto v = iso9660::open_volume(iso);
  REQUIRE(v.ok());
  auto entry = choose(**v);
  REQUIRE(entry.ok());
  const vdisk::test::MemorySource src(vdisk::test::read_file(iso));
  auto disk = make_repack(src, *entry, images());
  REQUIRE(disk.ok());
  return vdisk::test::read_disk(**disk);
}

RepackEntryChooser chooser(int* calls = nullptr) {
  return [calls](const iso9660::Volume& v, const RepackLayout&) -> Result<BootEntry> {
    if (calls) ++*calls;
    return choose(v);
  };
}

}  // namespace

TEST_CASE("repack stream: the same disk as the file repack, whatever the names and chunks",
          "[livecd][repack][stream]") {
  TempDir t;
  struct Case {
    const char* name;
    const char* flags;
  };
  for (const Case c : {Case{"rr", "-R -J"}, Case{"joliet", "-J"}, Case{"plain", ""}}) {
    SECTION(c.name) {
      const fs::path iso = make_iso(t, c.name, c.flags);
      const auto expected = file_repack(iso);
      for (const std::size_t chunk : {std::size_t{4099}, std::size_t{1} << 20}) {
        for (const bool stated : {false, true}) {
          INFO("chunk " << chunk << ", size stated " << stated);
          int calls = 0;
          auto s = repack_stream(stream_of(vdisk::test::read_file(iso), stated), images(),
                                 chooser(&calls));
          REQUIRE(s.ok());
          CHECK(*(*s)->size() == expected.size());
          Status error;
          const auto got = drain(**s, chunk, error);
          REQUIRE(error.ok());
          CHECK(calls == 1);
          REQUIRE(got.size() == expected.size());
          CHECK(std::memcmp(got.data(), expected.data(), got.size()) == 0);
          CHECK_THAT((*s)->layout().grub_cfg, Catch::Contains("root=live:CDLABEL=STREAMED"));
        }
      }
    }
  }
}

TEST_CASE("repack stream: the capture keeps the tree and small files, not the large ones",
          "[livecd][repack][stream]") {
  TempDir t;
  const fs::path iso = make_iso(t, "rr", "-R -J");
  const auto bytes = vdisk::test::read_file(iso);
  IsoCapture capture(bytes.size());
  for (std::size_t at = 0; at < bytes.size(); at += 65536)
    REQUIRE(
        capture.feed(std::span(bytes).subspan(at, std::min<std::size_t>(65536, bytes.size() - at)))
            .ok());
  CHECK(capture.position() == bytes.size());
  CHECK(capture.missed() == 0);
  CHECK(capture.tree_bytes() < 64 * 1024);
  CHECK(capture.file_bytes() < 16 * 1024);  // the two .cfg files and grub.cfg
  auto v = iso9660::Volume::open(capture.view());
  REQUIRE(v.ok());
  auto menu = (*v)->lookup("/isolinux/menu.cfg");
  REQUIRE(menu.ok());
  auto f = (*v)->open_file(*menu);
  REQUIRE(f.ok());
  std::vector<std::byte> text((*f)->size());
  REQUIRE((*f)->read_at(0, text).ok());
  CHECK_THAT(std::string(reinterpret_cast<const char*>(text.data()), text.size()),
             Catch::Contains("CDLABEL=STREAMED"));
  // The kernel is listed (its record was kept) but its bytes were not.
  auto kernel = (*v)->lookup("/isolinux/vmlinuz0");
  REQUIRE(kernel.ok());
  auto k = (*v)->open_file(*kernel);
  REQUIRE(k.ok());
  std::vector<std::byte> one(1);
  const Status s = (*k)->read_at(0, one);
  CHECK(s.code() == Errc::io_error);
  CHECK(capture.refusal().code() == Errc::unsupported);
  CHECK(capture.refusal().message() == s.message());
  CHECK_THAT(s.message(),
             Catch::Contains("were not kept") && Catch::Contains("convert from a file instead"));
}

TEST_CASE("repack stream: short, long and unkept streams fail with one line",
          "[livecd][repack][stream][hostile]") {
  TempDir t;
  const fs::path iso = make_iso(t, "rr", "-R");
  const auto bytes = vdisk::test::read_file(iso);
  Status error;

  SECTION("ends before its volume space") {
    auto cut = bytes;
    cut.resize(cut.size() - 8192);
    auto s = repack_stream(stream_of(cut, false), images(), chooser());
    REQUIRE(s.ok());
    drain(**s, 1 << 20, error);
    CHECK(error.code() == Errc::corrupt);
    CHECK_THAT(error.message(),
               Catch::Contains("ended at byte") && Catch::Contains("primary volume descriptor"));
  }
  SECTION("runs on past its volume space") {
    auto longer = bytes;
    longer.resize(longer.size() + 4096, std::byte{7});
    auto s = repack_stream(stream_of(longer, false), images(), chooser());
    REQUIRE(s.ok());
    drain(**s, 1 << 20, error);
    CHECK(error.code() == Errc::corrupt);
    CHECK_THAT(error.message(), Catch::Contains("longer than"));
  }
  SECTION("a configuration the capture did not keep") {
    CaptureLimits tight;
    tight.max_file_bytes = 0;
    auto s = repack_stream(stream_of(bytes, true), images(), chooser(), {}, tight);
    REQUIRE(s.ok());
    drain(**s, 1 << 20, error);
    CHECK(error.code() == Errc::unsupported);
    CHECK_THAT(error.message(), Catch::Contains("were not kept"));
  }
  SECTION("not an ISO") {
    std::vector<std::byte> junk(64 * 1024, std::byte{0x41});
    auto s = repack_stream(stream_of(junk, true), images(), chooser());
    CHECK(s.status().code() == Errc::corrupt);
  }
  SECTION("a directory before the record that names it") {
    // Point the root's records of boot/ and isolinux/ at block 5 (in the system area, already
    // passed): the capture records them as missed, and reading either configuration through
    // them fails naming why.
    auto hostile = bytes;
    const std::uint64_t root =
        std::uint64_t{detail::load_le32(std::span(hostile).subspan(32768 + 156 + 2))} * 2048;
    std::size_t at = root;
    at += std::to_integer<std::uint8_t>(hostile[at]);  // "."
    at += std::to_integer<std::uint8_t>(hostile[at]);  // ".."
    int patched = 0;
    while (std::to_integer<std::uint8_t>(hostile[at]) != 0) {
      if ((std::to_integer<std::uint8_t>(hostile[at + 25]) & 2) &&
          (std::memcmp(hostile.data() + at + 33, "ISOLINUX", 8) == 0 ||
           std::memcmp(hostile.data() + at + 33, "BOOT", 4) == 0)) {
        detail::store_le32(std::span(hostile).subspan(at + 2), 5);
        detail::store_be32(std::span(hostile).subspan(at + 6), 5);
        ++patched;
      }
      at += std::to_integer<std::uint8_t>(hostile[at]);
    }
    REQUIRE(patched == 2);
    IsoCapture capture(hostile.size());
    REQUIRE(capture.feed(hostile).ok());
    CHECK(capture.missed() == 1);  // both at block 5
    auto s = repack_stream(stream_of(hostile, true), images(), chooser());
    REQUIRE(s.ok());
    drain(**s, 1 << 20, error);
    CHECK(error.code() == Errc::unsupported);
    CHECK_THAT(error.message(), Catch::Contains("had passed before the record naming them"));
  }
}
