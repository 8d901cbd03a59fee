// COWD (VMFSSPARSE) extents: builder-made redo logs read alone and as vmfsSparse deltas over a
// flat base, compared with the content and with qemu-img's raw view; hostile headers.
#include <catch2/catch.hpp>

#include <cstring>

#include <fmt/format.h>

#include "test_support.h"
#include "vdisk/image.h"
#include "vdisk/pipeline.h"
#include "formats/vmdk/vmdk_format.h"
#include "vmdk_builder.h"

using namespace vdisk;
using namespace vdisk::vmdk::test;
using vdisk::test::pattern;
using vdisk::test::read_file;
using vdisk::test::run;
using vdisk::test::TempDir;
using vdisk::test::write_file;

namespace {

inline bool same_bytes(const std::vector<std::byte>& a, const std::vector<std::byte>& b) {
  return a == b;
}

// 3 MiB + 2 KiB: several 2 MiB grain tables at grain size 1 sector, holes.
std::vector<std::byte> disk() {
  auto d = pattern(3 * 1024 * 1024 + 2048, 41);
  std::memset(d.data() + 100 * 512, 0, 5000 * 512);
  return d;
}

std::vector<std::byte> ours(const std::filesystem::path& p) {
  auto src = open_image(p);
  INFO(src.status().to_string());
  REQUIRE(src.ok());
  vdisk::test::RecordingSink sink;
  PipelineOptions o;
  o.threads = 2;
  o.chunk_bytes = 96 * 1024;
  auto st = copy(**src, sink, o);
  INFO(st.status().to_string());
  REQUIRE(st.ok());
  return sink.image;
}

std::vector<std::byte> qemu_raw(const std::filesystem::path& p) {
  const auto out = p.string() + ".qemu.raw";
  REQUIRE(run(fmt::format("qemu-img convert -O raw '{}' '{}'", p.string(), out)) == 0);
  return read_file(out);
}

}  // namespace

TEST_CASE("vmdk cowd: header codec round trip and bounds", "[vmdk][cowd][codec]") {
  vmdk::CowdHeader h;
  h.capacity = 10000;
  h.grain_size = 8;
  h.gd_entries = static_cast<std::uint32_t>(h.needed_gd_entries());
  h.parent_file = "base.vmdk";
  std::vector<std::byte> raw(vmdk::kCowdHeaderSize);
  vmdk::encode_cowd_header(h, raw);
  auto d = vmdk::decode_cowd_header(raw);
  REQUIRE(d.ok());
  CHECK(d->capacity == 10000);
  CHECK(d->grain_size == 8);
  CHECK(d->gd_entries == 1);
  CHECK(d->parent_file == "base.vmdk");
  h.gd_entries = 0;
  vmdk::encode_cowd_header(h, raw);
  CHECK(vmdk::decode_cowd_header(raw).status().code() == Errc::corrupt);
  h.gd_entries = 1;
  h.grain_size = 0;
  vmdk::encode_cowd_header(h, raw);
  CHECK(vmdk::decode_cowd_header(raw).status().code() == Errc::corrupt);
  h.grain_size = 8;
  h.version = 2;
  vmdk::encode_cowd_header(h, raw);
  CHECK(vmdk::decode_cowd_header(raw).status().code() == Errc::unsupported);
  CHECK(vmdk::decode_cowd_header(std::span(raw).first(100)).status().code() == Errc::corrupt);
}

TEST_CASE("vmdk cowd: a redo log reads like its content and like qemu-img",
          "[vmdk][cowd][qemu]") {
  TempDir dir;
  const auto d = disk();
  for (std::uint32_t grain : {1u, 8u, 128u}) {
    CowdBuild b;
    b.content = d;
    b.grain_sectors = grain;
    b.reverse_grains = grain == 8;
    const auto p = dir / fmt::format("g{}-delta.vmdk", grain);
    write_file(p, build_cowd(b));
    INFO("grain " << grain);
    const auto mine = ours(p);
    CHECK(same_bytes(mine, d));
    // qemu-img needs a descriptor around a COWD file (it reads the CID from one).
    const std::string desc = fmt::format(
        "# Disk DescriptorFile\nversion=1\nCID=0000000c\nparentCID=ffffffff\n"
        "createType=\"vmfsSparse\"\nRW {} VMFSSPARSE \"{}\"\n",
        d.size() / 512, p.filename().string());
    const auto dp = dir / fmt::format("g{}.vmdk", grain);
    write_file(dp, std::as_bytes(std::span(desc)));
    CHECK(same_bytes(ours(dp), d));
    CHECK(same_bytes(mine, qemu_raw(dp)));
    auto src = open_image(p);
    REQUIRE(src.ok());
    auto info = describe(**src);
    CHECK(info.to_json(0).find("\"type\":\"VMFSSPARSE\"") != std::string::npos);
  }
}

TEST_CASE("vmdk cowd: vmfsSparse delta over a flat base falls through to the parent",
          "[vmdk][cowd][chain][qemu]") {
  TempDir dir;
  const auto base = pattern(1024 * 1024, 3);
  auto top = disk();
  top.resize(base.size());
  CowdBuild b;
  b.content = top;
  b.grain_sectors = 16;
  b.skip = {0, 5, 100};  // these grains come from the base
  write_file(dir / "base-flat.vmdk", base);
  const std::uint64_t sectors = base.size() / 512;
  std::string bd = fmt::format("# Disk DescriptorFile\nversion=1\nCID=0000000a\nparentCID=ffffffff\n"
                               "createType=\"monolithicFlat\"\nRW {} FLAT \"base-flat.vmdk\" 0\n",
                               sectors);
  write_file(dir / "base.vmdk", std::as_bytes(std::span(bd)));
  write_file(dir / "top-delta.vmdk", build_cowd(b));
  std::string td = fmt::format("# Disk DescriptorFile\nversion=1\nCID=0000000b\nparentCID=0000000a\n"
                               "createType=\"vmfsSparse\"\nparentFileNameHint=\"base.vmdk\"\n"
                               "RW {} VMFSSPARSE \"top-delta.vmdk\"\n",
                               sectors);
  write_file(dir / "top.vmdk", std::as_bytes(std::span(td)));
  auto want = top;
  for (std::uint64_t g : b.skip)
    std::memcpy(want.data() + g * 16 * 512, base.data() + g * 16 * 512, 16 * 512);
  for (std::size_t i = 0; i < want.size(); i += 16 * 512) {  // unallocated zero grains too
    bool zero = true;
    for (std::size_t k = i; k < i + 16 * 512 && zero; ++k) zero = top[k] == std::byte{0};
    if (zero) std::memcpy(want.data() + i, base.data() + i, 16 * 512);
  }
  const auto mine = ours(dir / "top.vmdk");
  CHECK(same_bytes(mine, want));
  CHECK(same_bytes(mine, qemu_raw(dir / "top.vmdk")));
}

TEST_CASE("vmdk cowd: hostile redo logs are corrupt, never a crash", "[vmdk][cowd][hostile]") {
  TempDir dir;
  CowdBuild b;
  b.content = disk();
  const auto good = build_cowd(b);
  const auto p = dir / "h.vmdk";
  SECTION("truncated") {
    for (std::size_t cut : {std::size_t{600}, std::size_t{2048 + 100}, good.size() - 512}) {
      write_file(p, std::span(good).first(cut));
      INFO("cut " << cut);
      auto src = open_image(p);
      if (!src.ok()) {
        CHECK(src.status().code() == Errc::corrupt);
        continue;
      }
      std::vector<std::byte> buf(static_cast<std::size_t>((*src)->size()));
      CHECK((*src)->read(0, buf).code() == Errc::corrupt);
    }
  }
  SECTION("grain directory past the end") {
    auto bad = good;
    bad[20] = std::byte{0xff};
    bad[21] = std::byte{0xff};
    bad[22] = std::byte{0xff};
    write_file(p, bad);
    CHECK(open_image(p).status().code() == Errc::corrupt);
  }
}
