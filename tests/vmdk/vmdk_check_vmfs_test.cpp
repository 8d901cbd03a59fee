// `check --for vmdk` on COWD (vmfsSparse) and SESparse extents: builder-made images pass every
// rule; each damage fails exactly the rule that describes it. `info` shows their grain size.
#include <catch2/catch.hpp>

#include <cstring>

#include <fmt/format.h>

#include "test_support.h"
#include "base/endian.h"
#include "vdisk/check.h"
#include "vdisk/image.h"
#include "formats/vmdk/vmdk_format.h"
#include "vmdk_builder.h"

using namespace vdisk;
using namespace vdisk::vmdk::test;
using vdisk::test::pattern;
using vdisk::test::TempDir;
using vdisk::test::write_file;

namespace {

constexpr std::uint64_t kS = 512;

std::string dump(const CheckReport& r) {
  std::string s;
  for (const auto& i : r.items)
    s += fmt::format("{} {}: {}\n", i.passed ? "PASS" : i.fails() ? "FAIL" : "WARN", i.rule, i.detail);
  return s;
}

CheckReport check(const std::filesystem::path& p) {
  auto r = check_image(p, "vmdk");
  INFO(r.status().to_string());
  REQUIRE(r.ok());
  return *r;
}

// Exactly one rule fails and its text contains `words`.
bool only_failed(const CheckReport& r, std::string_view words) {
  std::vector<std::string> f;
  for (const auto& i : r.items)
    if (i.fails()) f.push_back(i.rule);
  return f.size() == 1 && f[0].find(words) != std::string::npos;
}

void put32(std::vector<std::byte>& f, std::uint64_t at, std::uint32_t v) {
  detail::store_le32(std::span<std::byte>(f).subspan(at), v);
}
std::uint32_t get32(const std::vector<std::byte>& f, std::uint64_t at) {
  return detail::load_le32(std::span<const std::byte>(f).subspan(at));
}
void put64(std::vector<std::byte>& f, std::uint64_t at, std::uint64_t v) {
  detail::store_le64(std::span<std::byte>(f).subspan(at), v);
}
std::uint64_t get64(const std::vector<std::byte>& f, std::uint64_t at) {
  return detail::load_le64(std::span<const std::byte>(f).subspan(at));
}

// A standalone descriptor (no parent) around one extent file.
void write_descriptor(const std::filesystem::path& p, std::string_view create_type,
                      std::uint64_t sectors, std::string_view type, std::string_view file) {
  const std::string d = fmt::format(
      "# Disk DescriptorFile\nversion=1\nCID=0000000c\nparentCID=ffffffff\ncreateType=\"{}\"\n"
      "RW {} {} \"{}\"\n",
      create_type, sectors, type, file);
  write_file(p, std::as_bytes(std::span(d)));
}

std::string info_json(const std::filesystem::path& p) {
  auto src = open_image(p);
  INFO(src.status().to_string());
  REQUIRE(src.ok());
  return describe(**src).to_json(0);
}

}  // namespace

TEST_CASE("vmdk check cowd: a builder redo log passes, each damage fails its rule",
          "[vmdk][check][cowd]") {
  TempDir dir;
  // 1 MiB, 8-sector grains: header (4 sectors), GD at 4 (1 sector), GT 0 at 5 (32 sectors),
  // grains from sector 37 in order.
  CowdBuild b;
  b.content = pattern(1024 * 1024, 5);
  b.grain_sectors = 8;
  const auto good = build_cowd(b);
  const auto delta = dir / "d-delta.vmdk";
  const auto desc = dir / "d.vmdk";
  write_file(delta, good);
  write_descriptor(desc, "vmfsSparse", b.content.size() / kS, "VMFSSPARSE", "d-delta.vmdk");
  constexpr std::uint64_t kGd = 4 * kS, kGt = 5 * kS;
  for (const auto& p : {delta, desc}) {
    const auto r = check(p);
    INFO(p << "\n" << dump(r));
    CHECK(r.passed());
    CHECK(r.items[7].detail.find("256 allocated grains") != std::string::npos);
  }
  // info shows the grain size, in bytes, like a hosted sparse extent's.
  CHECK(info_json(desc).find("\"type\":\"VMFSSPARSE\",\"file\":\"d-delta.vmdk\",\"grain_size\":4096,"
                             "\"gtes_per_gt\":4096") != std::string::npos);
  CHECK(info_json(delta).find("\"grain_size\":4096") != std::string::npos);

  auto bad = good;
  auto expect = [&](std::string_view rule) {
    write_file(delta, bad);
    for (const auto& p : {delta, desc}) {
      const auto r = check(p);
      INFO(p << "\n" << dump(r));
      CHECK(only_failed(r, rule));
    }
  };
  SECTION("header: freeSector before the last grain's end") {
    auto h = *vmdk::decode_cowd_header(std::span(good).first(vmdk::kCowdHeaderSize));
    h.free_sector = 100;
    vmdk::encode_cowd_header(h, std::span(bad).first(vmdk::kCowdHeaderSize));
    expect("headers");
  }
  SECTION("header: a grain size of 0") {
    put32(bad, 16, 0);
    expect("headers");
  }
  SECTION("grain directory past the end") {
    put32(bad, 20, static_cast<std::uint32_t>(good.size() / kS + 1));
    expect("grain directories lie inside");
  }
  SECTION("grain directory entry past the end") {
    put32(bad, kGd, static_cast<std::uint32_t>(good.size() / kS));
    expect("grain directory entries point");
  }
  SECTION("grain table entry past the end") {
    put32(bad, kGt + 3 * 4, static_cast<std::uint32_t>(good.size() / kS + 5));
    expect("grain table entries point");
  }
  SECTION("two grains in one place") {
    put32(bad, kGt + 3 * 4, get32(good, kGt + 2 * 4));
    expect("overlap");
  }
  SECTION("a grain over the grain table") {
    put32(bad, kGt + 3 * 4, 6);
    expect("overlap");
  }
}

TEST_CASE("vmdk check sesparse: a builder extent passes, each damage fails its rule",
          "[vmdk][check][sesparse]") {
  TempDir dir;
  // 1 MiB: 256 grains, one grain table. Header 0, volatile header 1, GD at 4, GT at 5 (64
  // sectors), grains from sector 69 (stored in reverse disk order).
  SeSparseBuild b;
  b.content = pattern(1024 * 1024, 6);
  b.zero = {3};
  b.unmapped = {4};
  b.skip = {5};
  const auto good = build_sesparse(b);
  const auto ext = dir / "s-sesparse.vmdk";
  const auto desc = dir / "s.vmdk";
  write_file(ext, good);
  write_descriptor(desc, "seSparse", b.content.size() / kS, "SESPARSE", "s-sesparse.vmdk");
  constexpr std::uint64_t kGd = 4 * kS, kGt = 5 * kS;
  {
    const auto r = check(desc);
    INFO(dump(r));
    CHECK(r.passed());
    CHECK(r.items[7].detail.find("253 allocated grains") != std::string::npos);
  }
  CHECK(info_json(desc).find("\"type\":\"SESPARSE\",\"file\":\"s-sesparse.vmdk\",\"grain_size\":4096,"
                             "\"gtes_per_gt\":4096") != std::string::npos);

  auto bad = good;
  auto expect = [&](std::string_view rule) {
    write_file(ext, bad);
    const auto r = check(desc);
    INFO(dump(r));
    CHECK(only_failed(r, rule));
  };
  SECTION("header: journal needs replaying") {
    put64(bad, kS + 24, 1);
    expect("headers");
  }
  SECTION("header: volatile header magic") {
    put64(bad, kS, 0x1234);
    expect("headers");
  }
  SECTION("header: grain tables area not whole tables") {
    put64(bad, 19 * 8, get64(good, 19 * 8) + 1);
    expect("headers");
  }
  SECTION("header: grain tables area overlapping the grains area") {
    put64(bad, 19 * 8, get64(good, 19 * 8) + 64);
    expect("headers");
  }
  SECTION("grain directory past the end") {
    put64(bad, 16 * 8, get64(good, 24 * 8) + get64(good, 25 * 8) + 3);  // after the grains area
    expect("grain directories lie inside");
  }
  SECTION("grain directory entry of a wrong kind") {
    put64(bad, kGd, 0x2000000000000000ull);
    expect("grain directory entries point");
  }
  SECTION("grain directory entry naming a table outside the area") {
    put64(bad, kGd, 0x1000000000000001ull);
    expect("grain directory entries point");
  }
  SECTION("grain table entry of an unknown type") {
    put64(bad, kGt + 7 * 8, 0x5000000000000000ull | (get64(good, kGt + 7 * 8) & 0xFFFFFFFFFFFFFFFull));
    expect("valid type");
  }
  SECTION("grain table entry: type 0 with a payload") {
    put64(bad, kGt + 5 * 8, 0x42);
    expect("valid type");
  }
  SECTION("grain outside the grains area") {
    const std::uint64_t k = 300;  // 256 clusters in the area
    put64(bad, kGt + 7 * 8, (3ull << 60) | ((k & 0xFFF) << 48) | (k >> 12));
    expect("grain table entries point");
  }
  SECTION("grain past the end of the file") {
    bad.resize(bad.size() - 8 * kS);
    expect("grain table entries point");
  }
  SECTION("two grains in one cluster") {
    put64(bad, kGt + 7 * 8, get64(good, kGt + 6 * 8));
    expect("overlap");
  }
}
