// `check --for vmdk`: qemu-img-made images pass every rule; builder-made and damaged ones fail
// exactly the rule that describes the damage.
#include <catch2/catch.hpp>

#include <cstring>

#include <fmt/format.h>

#include "test_support.h"
#include "util/endian.h"
#include "vdisk/check.h"
#include "vmdk/vmdk_format.h"
#include "vmdk_builder.h"

using namespace vdisk;
using namespace vdisk::vmdk::test;
using vdisk::test::pattern;
using vdisk::test::read_file;
using vdisk::test::run;
using vdisk::test::TempDir;
using vdisk::test::write_file;

namespace {

constexpr std::uint64_t kG = 64 * 1024;

std::vector<std::byte> disk() {
  auto d = pattern(40 * kG + 1536, 17);
  std::memset(d.data() + 3 * kG, 0, 5 * kG);
  return d;
}

CheckReport check(const std::filesystem::path& p) {
  auto r = check_image(p, "vmdk");
  INFO(r.status().to_string());
  REQUIRE(r.ok());
  CHECK(r->target == "vmdk");
  return *r;
}

std::string dump(const CheckReport& r) {
  std::string s;
  for (const auto& i : r.items) s += fmt::format("{} {}: {}\n", i.passed ? "PASS" : "FAIL", i.rule, i.detail);
  return s;
}

// The rules that failed, by a word of their text.
std::vector<std::string> failed(const CheckReport& r) {
  std::vector<std::string> out;
  for (const auto& i : r.items)
    if (!i.passed) out.push_back(i.rule);
  return out;
}

bool only_failed(const CheckReport& r, std::string_view words) {
  const auto f = failed(r);
  return f.size() == 1 && f[0].find(words) != std::string::npos;
}

void put32(std::vector<std::byte>& f, std::size_t at, std::uint32_t v) {
  detail::store_le32(std::span<std::byte>(f).subspan(at), v);
}
std::uint32_t get32(const std::vector<std::byte>& f, std::size_t at) {
  return detail::load_le32(std::span<const std::byte>(f).subspan(at));
}

// Builder layout: GD at sector 21 (1 sector for 40 grains), GT 0 at sector 22.
constexpr std::size_t kGt0 = (kBuiltGdSector + 1) * 512;

}  // namespace

TEST_CASE("vmdk check: qemu-img images pass every rule", "[vmdk][check][qemu]") {
  TempDir dir;
  write_file(dir / "in.raw", disk());
  for (std::string opts : {"subformat=monolithicSparse", "subformat=streamOptimized",
                           "subformat=twoGbMaxExtentSparse", "subformat=monolithicFlat",
                           "zeroed_grain=on"}) {
    const auto img = dir / "o.vmdk";
    for (const auto& e : std::filesystem::directory_iterator(dir.path()))
      if (e.path().filename() != "in.raw") std::filesystem::remove(e.path());
    REQUIRE(run(fmt::format("qemu-img convert -f raw -O vmdk -o {} '{}' '{}'", opts,
                            (dir / "in.raw").string(), img.string())) == 0);
    const auto r = check(img);
    INFO(opts << "\n" << dump(r));
    CHECK(r.passed());
  }
  // A backing chain.
  REQUIRE(run(fmt::format("cd '{}' && qemu-img create -q -f vmdk -b o.vmdk -F vmdk top.vmdk && "
                          "qemu-io -c 'write -P 7 64k 64k' top.vmdk >/dev/null",
                          dir.path().string())) == 0);
  const auto r = check(dir / "top.vmdk");
  INFO(dump(r));
  CHECK(r.passed());
}

TEST_CASE("vmdk check: builder images pass; each damage fails its rule", "[vmdk][check]") {
  TempDir dir;
  SparseBuild b;
  b.content = disk();
  const auto good = build_sparse(b);
  const auto p = dir / "x.vmdk";
  write_file(p, good);
  {
    const auto r = check(p);
    INFO(dump(r));
    CHECK(r.passed());
  }
  auto bad = good;
  SECTION("grain table entry past the end") {
    put32(bad, kGt0 + 2 * 4, static_cast<std::uint32_t>(good.size() / 512 + 10));
    write_file(p, bad);
    const auto r = check(p);
    INFO(dump(r));
    CHECK(only_failed(r, "grain table entries point"));
  }
  SECTION("grain directory entry past the end") {
    put32(bad, kBuiltGdSector * 512, 0x00ffffff);
    write_file(p, bad);
    const auto r = check(p);
    INFO(dump(r));
    CHECK(only_failed(r, "grain directory entries point"));
  }
  SECTION("two grains in the same place") {
    put32(bad, kGt0 + 2 * 4, get32(good, kGt0 + 1 * 4));
    write_file(p, bad);
    const auto r = check(p);
    INFO(dump(r));
    CHECK(only_failed(r, "overlap"));
  }
  SECTION("a grain over the grain directory") {
    put32(bad, kGt0 + 1 * 4, static_cast<std::uint32_t>(kBuiltGdSector));
    write_file(p, bad);
    const auto r = check(p);
    INFO(dump(r));
    CHECK(only_failed(r, "overlap"));
  }
  SECTION("grain directory past the end") {
    vmdk::SparseHeader h = *vmdk::decode_sparse_header(std::span(good).first(512), 0);
    h.gd_offset = good.size() / 512;
    vmdk::encode_sparse_header(h, std::span(bad).first(512));
    write_file(p, bad);
    const auto r = check(p);
    INFO(dump(r));
    CHECK(only_failed(r, "grain directories lie inside"));
  }
}

TEST_CASE("vmdk check: stream footer disagreeing with the header", "[vmdk][check]") {
  TempDir dir;
  StreamBuild b;
  b.content = disk();
  auto img = build_stream(b);
  const auto p = dir / "s.vmdk";
  write_file(p, img);
  CHECK(check(p).passed());
  // Footer header is the second-last sector: change its grain size field... its capacity.
  const std::size_t footer = img.size() - 1024;
  auto h = *vmdk::decode_sparse_header(std::span(img).subspan(footer, 512), footer);
  h.descriptor_size = 19;
  vmdk::encode_sparse_header(h, std::span(img).subspan(footer, 512));
  write_file(p, img);
  const auto r = check(p);
  INFO(dump(r));
  CHECK(only_failed(r, "footer"));
}

TEST_CASE("vmdk check: redundant grain table disagreeing (qemu image)", "[vmdk][check][qemu]") {
  TempDir dir;
  write_file(dir / "in.raw", disk());
  const auto img = dir / "o.vmdk";
  REQUIRE(run(fmt::format("qemu-img convert -f raw -O vmdk '{}' '{}'", (dir / "in.raw").string(),
                          img.string())) == 0);
  auto f = read_file(img);
  const auto h = *vmdk::decode_sparse_header(std::span(f).first(512), 0);
  REQUIRE((h.flags & vmdk::kFlagRedundantGrainTable) != 0);
  const std::uint32_t rgt = get32(f, h.rgd_offset * 512);
  put32(f, rgt * 512 + 4, get32(f, rgt * 512 + 4) + 1);
  write_file(img, f);
  const auto r = check(img);
  INFO(dump(r));
  CHECK(only_failed(r, "redundant"));
}

TEST_CASE("vmdk check: CID mismatch, missing parent, short and missing extents",
          "[vmdk][check][qemu]") {
  TempDir dir;
  write_file(dir / "in.raw", disk());
  const auto d = dir.path().string();
  REQUIRE(run(fmt::format("cd '{}' && qemu-img convert -f raw -O vmdk in.raw base.vmdk && "
                          "qemu-img create -q -f vmdk -b base.vmdk -F vmdk top.vmdk && "
                          "qemu-img convert -f raw -O vmdk -o subformat=monolithicFlat in.raw flat.vmdk",
                          d)) == 0);
  SECTION("parentCID does not match") {
    auto f = read_file(dir / "base.vmdk");
    std::string text(reinterpret_cast<const char*>(f.data()) + 512, 1024);
    const auto at = text.find("\nCID=");
    REQUIRE(at != std::string::npos);
    f[512 + at + 5] = f[512 + at + 5] == std::byte{'0'} ? std::byte{'1'} : std::byte{'0'};
    write_file(dir / "base.vmdk", f);
    const auto r = check(dir / "top.vmdk");
    INFO(dump(r));
    CHECK(only_failed(r, "parentCID"));
  }
  SECTION("parent missing") {
    std::filesystem::remove(dir / "base.vmdk");
    const auto r = check(dir / "top.vmdk");
    INFO(dump(r));
    CHECK(only_failed(r, "parentCID"));
  }
  SECTION("flat extent short") {
    std::filesystem::resize_file(dir / "flat-flat.vmdk", 40 * kG);
    const auto r = check(dir / "flat.vmdk");
    INFO(dump(r));
    CHECK(only_failed(r, "extent files"));
  }
  SECTION("flat extent missing") {
    std::filesystem::remove(dir / "flat-flat.vmdk");
    const auto r = check(dir / "flat.vmdk");
    INFO(dump(r));
    CHECK(only_failed(r, "extent files"));
  }
}
