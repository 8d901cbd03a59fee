// `check --for vmdk`: qemu-img-made images pass every rule; builder-made and damaged ones fail
// exactly the rule that describes the damage.
#include <catch2/catch.hpp>

#include <cstring>

#include <fmt/format.h>

#include "test_support.h"
#include "base/endian.h"
#include "vdisk/check.h"
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

constexpr std::uint64_t kG = 64 * 1024;

std::vector<std::byte> disk() {
  auto d = pattern(40 * kG + 1536, 17);
  std::memset(d.data() + 3 * kG, 0, 5 * kG);
  return d;
}

CheckReport check(const std::filesystem::path& p, std::string_view target = "vmdk",
                  const CheckOptions& options = {}) {
  auto r = check_image(p, target, options);
  INFO(r.status().to_string());
  REQUIRE(r.ok());
  CHECK(r->target == target);
  return *r;
}

std::string dump(const CheckReport& r) {
  std::string s;
  for (const auto& i : r.items)
    s += fmt::format("{} {}: {}\n", i.passed ? "PASS" : i.fails() ? "FAIL" : "WARN", i.rule, i.detail);
  return s;
}

// The rules that failed, by a word of their text.
std::vector<std::string> failed(const CheckReport& r) {
  std::vector<std::string> out;
  for (const auto& i : r.items)
    if (i.fails()) out.push_back(i.rule);
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
    // qemu-img's descriptors lint clean: every consumer accepts them.
    CHECK(r.warnings() == 0);
    for (std::string_view consumer : {"mvmc", "qemu", "virtualbox", "esxi"}) {
      const auto rc = check(img, consumer);
      INFO(consumer << "\n" << dump(rc));
      CHECK(rc.passed());
    }
  }
  // A backing chain.
  REQUIRE(run(fmt::format("cd '{}' && qemu-img create -q -f vmdk -b o.vmdk -F vmdk top.vmdk && "
                          "qemu-io -c 'write -P 7 64k 64k' top.vmdk >/dev/null",
                          dir.path().string())) == 0);
  const auto r = check(dir / "top.vmdk");
  INFO(dump(r));
  CHECK(r.passed());
}

TEST_CASE("vmdk check: builder images pass, each damage fails its rule", "[vmdk][check]") {
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
    CHECK(only_failed(r, "parent links resolve"));
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

namespace {

// A monolithicSparse image whose descriptor is what VMware Workstation writes: ddb keys MVMC
// rejects (toolsInstallType, uuid).
std::string vmware_descriptor(std::uint64_t sectors) {
  return fmt::format(
      "# Disk DescriptorFile\nversion=1\nencoding=\"UTF-8\"\nCID=fffffffe\nparentCID=ffffffff\n"
      "createType=\"monolithicSparse\"\n\n# Extent description\nRW {} SPARSE \"vm.vmdk\"\n\n"
      "# The Disk Data Base\n#DDB\n\nddb.adapterType = \"lsilogic\"\n"
      "ddb.toolsInstallType = \"4\"\nddb.toolsVersion = \"10346\"\n"
      "ddb.uuid = \"60 00 C2 9c 1e 2d 3f 44-5a 6b 7c 8d 9e af b0 c1\"\n"
      "ddb.virtualHWVersion = \"4\"\n",
      sectors);
}

const CheckItem* item_with(const CheckReport& r, std::string_view words) {
  for (const auto& i : r.items)
    if (i.rule.find(words) != std::string::npos && !i.passed) return &i;
  return nullptr;
}

}  // namespace

TEST_CASE("vmdk check: descriptor lint items name consumer, line, key and MVMC's message",
          "[vmdk][check][lint]") {
  TempDir dir;
  SparseBuild b;
  b.content = disk();
  b.descriptor = vmware_descriptor(b.content.size() / 512);
  const auto p = dir / "vm.vmdk";
  write_file(p, build_sparse(b));

  // --for vmdk: structurally sound, so it passes; each rejected line is a warning.
  const auto r = check(p);
  INFO(dump(r));
  CHECK(r.passed());
  CHECK(r.warnings() == 2);
  const CheckItem* mvmc = item_with(r, "[mvmc-ddb-entry]");
  REQUIRE(mvmc);
  CHECK(mvmc->severity == CheckSeverity::warning);
  CHECK(mvmc->rule == "descriptor accepted by MVMC [mvmc-ddb-entry]");
  CHECK(mvmc->detail.find("line 15 ddb.toolsInstallType = \"4\"") != std::string::npos);
  CHECK(mvmc->detail.find("MVMC says: The entry 4 is not a supported disk database entry for "
                          "the descriptor") != std::string::npos);
  CHECK(mvmc->facts.get("line") == "15");
  CHECK(mvmc->facts.get("key") == "ddb.toolsInstallType");
  CHECK(mvmc->facts.get("message") ==
        "The entry 4 is not a supported disk database entry for the descriptor");
  // The report's JSON carries the facts.
  const std::string json = r.to_properties().to_json(0);
  CHECK(json.find("\"facts\":{\"file\":\"" + p.string() + "\",\"line\":15,\"key\":"
                  "\"ddb.toolsInstallType\",\"value\":\"4\",\"consumers\":[\"MVMC\"],"
                  "\"lint_rule\":\"mvmc-ddb-entry\"") != std::string::npos);
  CHECK(json.find("\"warnings\":2") != std::string::npos);
  // The consumers that accept it have a passing item.
  for (std::string_view who : {"qemu", "VirtualBox", "ESXi"}) {
    bool found = false;
    for (const auto& i : r.items) found = found || (i.passed && i.rule == fmt::format("descriptor accepted by {}", who));
    INFO(who);
    CHECK(found);
  }

  // --for mvmc fails on exactly those two lines; the other consumers pass.
  const auto rm = check(p, "mvmc");
  INFO(dump(rm));
  CHECK_FALSE(rm.passed());
  CHECK(rm.failures() == 2);
  for (const auto& i : rm.items)
    if (i.fails()) CHECK(i.rule == "descriptor accepted by MVMC [mvmc-ddb-entry]");
  for (std::string_view consumer : {"qemu", "virtualbox", "esxi"}) {
    const auto rc = check(p, consumer);
    INFO(consumer << "\n" << dump(rc));
    CHECK(rc.passed());
    CHECK(rc.warnings() == 0);
  }

  // A structural problem still fails every target.
  auto img = read_file(p);
  put32(img, kGt0 + 2 * 4, static_cast<std::uint32_t>(img.size() / 512 + 10));
  write_file(p, img);
  for (std::string_view target : {"vmdk", "qemu"}) {
    const auto rb = check(p, target);
    INFO(dump(rb));
    CHECK(only_failed(rb, "grain table entries point"));
  }
}

TEST_CASE("vmdk check: qemu and VirtualBox lint of a text descriptor, every link of a chain",
          "[vmdk][check][lint][qemu]") {
  TempDir dir;
  write_file(dir / "in.raw", disk());
  const auto d = dir.path().string();
  REQUIRE(run(fmt::format("cd '{}' && qemu-img convert -f raw -O vmdk -o subformat=monolithicFlat "
                          "in.raw base.vmdk && qemu-img create -q -f vmdk -b base.vmdk -F vmdk "
                          "top.vmdk",
                          d)) == 0);
  // The parent's text descriptor: a FLAT extent without its offset (qemu: "Invalid extent
  // line"), and no '# Disk DescriptorFile' first line (VirtualBox).
  auto text = read_file(dir / "base.vmdk");
  std::string t(reinterpret_cast<const char*>(text.data()), text.size());
  t = t.substr(0, t.find('\0'));
  const auto flat = t.find("\" 0\n");
  REQUIRE(flat != std::string::npos);
  t.erase(flat + 1, 2);
  REQUIRE(t.rfind("# Disk DescriptorFile\n", 0) == 0);
  t.erase(0, t.find('\n') + 1);
  write_file(dir / "base.vmdk", std::as_bytes(std::span(t)));
  const auto r = check(dir / "top.vmdk");
  INFO(dump(r));
  CHECK(r.passed());  // lint findings are warnings under --for vmdk
  const CheckItem* q = item_with(r, "[qemu-extent]");
  REQUIRE(q);
  CHECK(q->detail.find((dir / "base.vmdk").string()) != std::string::npos);
  CHECK(q->facts.get("message").find("Invalid extent line: RW ") == 0);
  const CheckItem* v = item_with(r, "[vbox-first-line]");
  REQUIRE(v);
  CHECK(v->facts.get("message") ==
        fmt::format("VMDK: descriptor does not start as expected in '{}'", (dir / "base.vmdk").string()));
  const auto rq = check(dir / "top.vmdk", "qemu");
  INFO(dump(rq));
  CHECK_FALSE(rq.passed());
  CHECK(item_with(rq, "[qemu-extent]")->fails());
  CHECK(item_with(rq, "[vbox-first-line]") == nullptr);
  CHECK_FALSE(check(dir / "top.vmdk", "virtualbox").passed());
  CHECK(check(dir / "top.vmdk", "mvmc").passed());
}

TEST_CASE("vmdk check: ignoring the CID link turns a mismatch into a warning",
          "[vmdk][check][qemu]") {
  TempDir dir;
  write_file(dir / "in.raw", disk());
  REQUIRE(run(fmt::format("cd '{}' && qemu-img convert -f raw -O vmdk in.raw base.vmdk && "
                          "qemu-img create -q -f vmdk -b base.vmdk -F vmdk top.vmdk",
                          dir.path().string())) == 0);
  auto f = read_file(dir / "base.vmdk");
  std::string text(reinterpret_cast<const char*>(f.data()) + 512, 1024);
  const auto at = text.find("\nCID=");
  REQUIRE(at != std::string::npos);
  f[512 + at + 5] = f[512 + at + 5] == std::byte{'0'} ? std::byte{'1'} : std::byte{'0'};
  write_file(dir / "base.vmdk", f);
  CHECK(only_failed(check(dir / "top.vmdk"), "parentCID"));
  CheckOptions o;
  o.ignore_parent_identity = true;
  const auto r = check(dir / "top.vmdk", "vmdk", o);
  INFO(dump(r));
  CHECK(r.passed());
  CHECK(r.warnings() == 1);
  CHECK(item_with(r, "parentCID")->severity == CheckSeverity::warning);
}

TEST_CASE("vmdk check: the default target is vmdk for a VMDK only", "[vmdk][check]") {
  TempDir dir;
  SparseBuild b;
  b.content = disk();
  write_file(dir / "x.vmdk", build_sparse(b));
  write_file(dir / "x.raw", disk());
  auto t = default_check_target(dir / "x.vmdk");
  REQUIRE(t.ok());
  CHECK(*t == "vmdk");
  auto raw = default_check_target(dir / "x.raw");
  CHECK(raw.status().code() == Errc::invalid_argument);
  CHECK(raw.status().message().find("is a raw image") != std::string::npos);
  CHECK(check_image(dir / "x.vmdk", "vbox").status().code() == Errc::invalid_argument);
}
