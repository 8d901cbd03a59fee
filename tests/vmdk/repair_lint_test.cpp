// Descriptor lint: each rule fires on the descriptor mistake it names, with the consumer and
// its message, and stays quiet on descriptors the consumers accept.
#include <catch2/catch.hpp>

#include <algorithm>
#include <string>

#include "repair_samples.h"
#include "vdisk/vmdk_repair.h"

using namespace vdisk;
using namespace vdisk::vmdk;
using namespace vdisk::vmdk::test;

namespace {

std::vector<LintFinding> lint_of(const std::string& text, LintOptions o = {}) {
  auto r = lint_descriptor_text(text, o);
  REQUIRE(r.ok());
  return *r;
}

std::vector<const LintFinding*> with_rule(const std::vector<LintFinding>& fs, std::string_view rule) {
  std::vector<const LintFinding*> out;
  for (const auto& f : fs)
    if (f.rule == rule) out.push_back(&f);
  return out;
}

}  // namespace

TEST_CASE("lint: a qemu-made descriptor is clean", "[vmdk][lint]") {
  LintOptions o;
  o.area_bytes = 10240;
  const auto fs = lint_of(kQemuMonolithicSparse, o);
  for (const auto& f : fs) INFO(f.rule << " line " << f.line << ": " << f.detail);
  CHECK(fs.empty());
}

TEST_CASE("lint: MVMC names the value of every ddb key outside the kept set", "[vmdk][lint]") {
  for (const char* type : {"0", "1", "2", "4"}) {
    const auto fs = lint_of(vmware_descriptor(type));
    const auto mvmc = with_rule(fs, "mvmc-ddb-entry");
    REQUIRE(mvmc.size() == 3);  // toolsInstallType, uuid, longContentID
    CHECK(mvmc[0]->key == "ddb.toolsInstallType");
    CHECK(mvmc[0]->value == type);
    CHECK(mvmc[0]->message == std::string("The entry ") + type +
                                  " is not a supported disk database entry for the descriptor");
    CHECK(mvmc[0]->consumers == kMvmc);
    CHECK(mvmc[0]->fixable);
    CHECK(mvmc[1]->key == "ddb.uuid");
    CHECK(mvmc[2]->key == "ddb.longContentID");
    // The kept keys never fire.
    for (const auto* f : mvmc) CHECK_FALSE(f->key == "ddb.adapterType");
  }
}

TEST_CASE("lint: VirtualBox ddb.uuid.* keys show the GUID in MVMC's message", "[vmdk][lint]") {
  const auto fs = lint_of(kVirtualBoxDescriptor);
  const auto mvmc = with_rule(fs, "mvmc-ddb-entry");
  REQUIRE(mvmc.size() == 4);
  CHECK(mvmc[1]->key == "ddb.uuid.parent");
  CHECK(mvmc[1]->message ==
        "The entry 00000000-0000-0000-0000-000000000000 is not a supported disk database entry "
        "for the descriptor");
}

TEST_CASE("lint: the kept set is overridable", "[vmdk][lint]") {
  LintOptions o;
  o.mvmc_keep.push_back("DDB.LONGCONTENTID");
  const auto fs = lint_of(vmware_descriptor("1"), o);
  CHECK(with_rule(fs, "mvmc-ddb-entry").size() == 2);
  o.mvmc_keep.clear();
  const auto none = lint_of(vmware_descriptor("1"), o);
  CHECK(with_rule(none, "mvmc-ddb-entry").size() == 9);
}

TEST_CASE("lint: qemu's byte-literal look-ups", "[vmdk][lint]") {
  LintOptions standalone;
  standalone.standalone = true;
  SECTION("createType with spaces: qemu reads ' '") {
    auto fs = lint_of(flat_descriptor("createType = \"monolithicFlat\"", "RW 2048 FLAT \"d-flat.vmdk\" 0"),
                      standalone);
    auto ct = with_rule(fs, "qemu-createtype");
    REQUIRE(ct.size() == 1);
    CHECK(ct[0]->message == "Unsupported image type ' '");
    CHECK(ct[0]->fixable);
  }
  SECTION("standalone monolithicSparse cannot be fixed") {
    auto fs = lint_of(flat_descriptor("createType=\"monolithicSparse\"", "RW 2048 SPARSE \"d.vmdk\""),
                      standalone);
    auto ct = with_rule(fs, "qemu-createtype");
    REQUIRE(ct.size() == 1);
    CHECK(ct[0]->message == "Unsupported image type 'monolithicSparse'");
    CHECK_FALSE(ct[0]->fixable);
  }
  SECTION("FLAT without offset") {
    auto fs = lint_of(flat_descriptor("createType=\"monolithicFlat\"", "RW 2048 FLAT \"d-flat.vmdk\""),
                      standalone);
    auto ex = with_rule(fs, "qemu-extent");
    REQUIRE(ex.size() == 1);
    CHECK(ex[0]->message == "Invalid extent line: RW 2048 FLAT \"d-flat.vmdk\"");
    CHECK(ex[0]->severity == LintSeverity::error);
    CHECK(ex[0]->fixable);
  }
  SECTION("unquoted file name: skipped, no extent left") {
    auto fs = lint_of(flat_descriptor("createType=\"monolithicFlat\"", "RW 2048 FLAT d-flat.vmdk 0"),
                      standalone);
    CHECK(with_rule(fs, "qemu-extent").size() == 1);
    auto none = with_rule(fs, "qemu-no-extents");
    REQUIRE(none.size() == 1);
    CHECK(none[0]->fixable);
  }
  SECTION("the same lines in an embedded descriptor are not qemu's business") {
    auto fs = lint_of(flat_descriptor("createType = \"monolithicSparse\"", "RW 2048 SPARSE d.vmdk"));
    CHECK(with_rule(fs, "qemu-createtype").empty());
    CHECK(with_rule(fs, "qemu-extent").empty());
  }
  SECTION("CID after parentCID: qemu reads the parent's value") {
    const std::string text =
        "# Disk DescriptorFile\nversion=1\nparentCID=ffffffff\nCID=12345678\n"
        "createType=\"monolithicSparse\"\n\nRW 2048 SPARSE \"d.vmdk\"\n";
    auto fs = lint_of(text);
    auto cid = with_rule(fs, "qemu-cid");
    REQUIRE(cid.size() == 1);
    CHECK(cid[0]->line == 4);
    CHECK(cid[0]->fixable);
    CHECK(cid[0]->detail.find("ffffffff") != std::string::npos);
  }
  SECTION("CID = with spaces: qemu cannot open") {
    const std::string text =
        "# Disk DescriptorFile\nversion=1\nCID = 12345678\nparentCID=ffffffff\n"
        "createType=\"monolithicSparse\"\n\nRW 2048 SPARSE \"d.vmdk\"\n";
    const auto fs = lint_of(text);
    auto cid = with_rule(fs, "qemu-cid");
    REQUIRE(cid.size() == 1);
    CHECK(cid[0]->severity == LintSeverity::error);
    CHECK(cid[0]->message == "Could not open '<file>': Invalid argument");
  }
}

TEST_CASE("lint: VirtualBox's first line, order, extent syntax and room", "[vmdk][lint]") {
  SECTION("first line") {
    std::string text = kQemuMonolithicSparse;
    text.erase(0, text.find('\n') + 1);
    const auto fs = lint_of(text);
    auto f = with_rule(fs, "vbox-first-line");
    REQUIRE(f.size() == 1);
    CHECK(f[0]->message == "VMDK: descriptor does not start as expected in '<file>'");
    CHECK(f[0]->fixable);
  }
  SECTION("ddb before the extents") {
    const std::string text =
        "# Disk DescriptorFile\nversion=1\nCID=12345678\nparentCID=ffffffff\n"
        "createType=\"monolithicSparse\"\nddb.adapterType = \"ide\"\nRW 2048 SPARSE \"d.vmdk\"\n";
    const auto fs = lint_of(text);
    auto f = with_rule(fs, "vbox-entry-order");
    REQUIRE(f.size() == 1);
    CHECK(f[0]->line == 6);  // the ddb line comes before any extent
  }
  SECTION("double space in an extent line") {
    const auto fs =
        lint_of(flat_descriptor("createType=\"monolithicSparse\"", "RW  2048 SPARSE \"d.vmdk\""));
    auto f = with_rule(fs, "vbox-extent");
    REQUIRE(f.size() == 1);
    CHECK(f[0]->fixable);
  }
  SECTION("no room for VirtualBox's additions") {
    LintOptions o;
    o.area_bytes = std::string(kQemuMonolithicSparse).size() + 100;
    const auto fs = lint_of(kQemuMonolithicSparse, o);
    auto f = with_rule(fs, "vbox-room");
    REQUIRE(f.size() == 1);
    CHECK(f[0]->severity == LintSeverity::warning);
  }
}

TEST_CASE("lint: header keys in the wrong case", "[vmdk][lint]") {
  const std::string text =
      "# Disk DescriptorFile\nversion=1\nCID=12345678\nparentCID=ffffffff\n"
      "createtype=\"monolithicSparse\"\n\nRW 2048 SPARSE \"d.vmdk\"\n";
  const auto fs = lint_of(text);
  auto f = with_rule(fs, "key-case");
  REQUIRE(f.size() == 1);
  CHECK(f[0]->line == 5);
  CHECK((f[0]->consumers & kQemu) != 0);
}

TEST_CASE("lint: consumer names", "[vmdk][lint]") {
  CHECK(consumer_names(kMvmc | kEsxi) == "MVMC, ESXi");
  CHECK(parse_consumer("virtualbox") == std::optional<unsigned>(kVirtualBox));
  CHECK_FALSE(parse_consumer("hyperv"));
}
