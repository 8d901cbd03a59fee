// Images made at test time by qemu-img in every VMDK subformat and option it has; content
// compared with qemu-img's own raw conversion.
#include <catch2/catch.hpp>

#include <cstring>

#include <fmt/format.h>

#include "test_support.h"
#include "vdisk/image.h"
#include "vdisk/pipeline.h"

using namespace vdisk;
using vdisk::test::pattern;
using vdisk::test::read_file;
using vdisk::test::run;
using vdisk::test::TempDir;
using vdisk::test::write_file;

namespace {

// Compares byte vectors without making Catch print megabytes on failure.
inline bool same_bytes(const std::vector<std::byte>& a, const std::vector<std::byte>& b) {
  return a == b;
}

constexpr std::uint64_t kMiB = 1024 * 1024;

// 5 MiB + 1536 bytes: data, a zero hole, data, zero tail, partial last grain.
std::vector<std::byte> raw_disk() {
  auto d = pattern(5 * kMiB + 1536, 31);
  std::memset(d.data() + kMiB, 0, kMiB + 4096);
  std::memset(d.data() + 3 * kMiB + 65536, 0, kMiB);
  return d;
}

void qemu(const std::string& cmd) {
  INFO(cmd);
  REQUIRE(run(cmd + " >/dev/null") == 0);
}

std::vector<std::byte> qemu_raw(const std::filesystem::path& image) {
  const auto out = image.string() + ".qemu.raw";
  qemu(fmt::format("qemu-img convert -O raw '{}' '{}'", image.string(), out));
  return read_file(out);
}

// Our full view (pipeline: map + parallel reads) of an image.
std::vector<std::byte> ours(const std::filesystem::path& image, OpenOptions o = {}) {
  auto src = open_image(image, o);
  INFO(image.string() << ": " << src.status().to_string());
  REQUIRE(src.ok());
  CHECK((*src)->format() == "vmdk");
  vdisk::test::RecordingSink sink;
  PipelineOptions po;
  po.threads = 2;
  auto st = copy(**src, sink, po);
  INFO(st.status().to_string());
  REQUIRE(st.ok());
  return sink.image;
}

}  // namespace

TEST_CASE("vmdk: every qemu-img subformat reads like qemu-img reads it", "[vmdk][qemu]") {
  TempDir dir;
  const auto d = raw_disk();
  write_file(dir / "in.raw", d);
  for (std::string opts :
       {"subformat=monolithicSparse", "subformat=streamOptimized", "subformat=twoGbMaxExtentSparse",
        "subformat=twoGbMaxExtentFlat", "subformat=monolithicFlat", "compat6",
        "zeroed_grain=on", "adapter_type=lsilogic", "adapter_type=buslogic",
        "adapter_type=legacyESX", "subformat=streamOptimized,adapter_type=lsilogic,hwversion=11"}) {
    const auto img = dir / "out.vmdk";
    std::filesystem::remove(img);
    qemu(fmt::format("qemu-img convert -f raw -O vmdk -o {} '{}' '{}'", opts,
                     (dir / "in.raw").string(), img.string()));
    INFO(opts);
    const auto mine = ours(img);
    CHECK(same_bytes(mine, qemu_raw(img)));
    CHECK(same_bytes(mine, d));
    // info facts
    auto src = open_image(img);
    REQUIRE(src.ok());
    auto p = describe(**src);
    CHECK_FALSE(p.get("create_type").empty());
    CHECK_FALSE(p.get("cid").empty());
    if (opts.find("adapter_type=") != std::string::npos) {
      REQUIRE(p.get_object("ddb"));
      CHECK(opts.find(p.get_object("ddb")->get("ddb.adapterType")) != std::string::npos);
    }
    for (const auto& e : std::filesystem::directory_iterator(dir.path()))
      if (e.path().filename() != "in.raw") std::filesystem::remove(e.path());
  }
}

TEST_CASE("vmdk: qemu backing chains read through, and the CID link is checked",
          "[vmdk][qemu][chain]") {
  TempDir dir;
  write_file(dir / "in.raw", raw_disk());
  const auto base = dir / "base.vmdk", mid = dir / "mid.vmdk", top = dir / "top.vmdk";
  qemu(fmt::format("qemu-img convert -f raw -O vmdk '{}' '{}'", (dir / "in.raw").string(), base.string()));
  qemu(fmt::format("cd '{}' && qemu-img create -f vmdk -b base.vmdk -F vmdk mid.vmdk", dir.path().string()));
  qemu(fmt::format("qemu-io -c 'write -P 0x5a 1M 64k' -c 'write -z 4M 64k' '{}'", mid.string()));
  qemu(fmt::format("cd '{}' && qemu-img create -f vmdk -b mid.vmdk -F vmdk top.vmdk", dir.path().string()));
  qemu(fmt::format("qemu-io -c 'write -P 0x33 3M 100k' '{}'", top.string()));
  const auto mine = ours(top);
  CHECK(same_bytes(mine, qemu_raw(top)));
  auto src = open_image(top);
  REQUIRE(src.ok());
  auto p = describe(**src);
  REQUIRE(p.get_object("parent"));
  REQUIRE(p.get_object("parent")->get_object("parent"));
  CHECK(p.get_object("parent")->get_object("parent")->get("parent_cid") == "ffffffff");

  // Rewrite the base's CID: the link no longer matches.
  auto bytes = read_file(base);
  std::string text(reinterpret_cast<const char*>(bytes.data()) + 512, 1024);
  const auto at = text.find("\nCID=");
  REQUIRE(at != std::string::npos);
  bytes[512 + at + 5] = bytes[512 + at + 5] == std::byte{'0'} ? std::byte{'1'} : std::byte{'0'};
  write_file(base, bytes);
  CHECK(open_image(top).status().code() == Errc::corrupt);
  OpenOptions o;
  o.ignore_parent_identity = true;
  CHECK(same_bytes(ours(top, o), mine));
}
