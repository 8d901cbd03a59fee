// Repair planning: the edits each consumer needs, untouched lines byte-identical, line ends and
// values (CID) kept, the area bound respected, and a repaired descriptor repairs to itself.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "repair_samples.h"
#include "vdisk/vmdk_repair.h"

using namespace vdisk;
using namespace vdisk::vmdk;
using namespace vdisk::vmdk::test;

namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start < text.size()) {
    const std::size_t nl = text.find('\n', start);
    const std::size_t end = nl == std::string::npos ? text.size() : nl + 1;
    out.push_back(text.substr(start, end - start));
    start = end;
  }
  return out;
}

RepairPlan plan(const std::string& text, RepairOptions o) {
  auto r = plan_repair(text, o);
  REQUIRE(r.ok());
  return *r;
}

std::string to_crlf(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '\n') out += '\r';
    out += c;
  }
  return out;
}

}  // namespace

TEST_CASE("repair: MVMC comments out exactly the unknown ddb lines", "[vmdk][repair]") {
  for (const char* type : {"0", "1", "2", "4"}) {
    const std::string before = vmware_descriptor(type);
    RepairOptions o;
    o.consumers = kMvmc;
    const RepairPlan p = plan(before, o);
    REQUIRE(p.edits.size() == 3);
    CHECK(p.remaining.empty());
    CHECK(p.edits[0].action == RepairAction::comment_out);
    CHECK(p.edits[0].line == 19);
    CHECK(p.edits[0].key == "ddb.toolsInstallType");
    CHECK(p.edits[0].value == type);
    CHECK(p.edits[0].before == std::string("ddb.toolsInstallType = \"") + type + "\"");
    CHECK(p.edits[0].after == std::string("#ddb.toolsInstallType = \"") + type + "\"");
    CHECK(p.edits[0].prevents == std::string("The entry ") + type +
                                     " is not a supported disk database entry for the descriptor");
    CHECK(p.edits[1].key == "ddb.uuid");
    CHECK(p.edits[2].key == "ddb.longContentID");
    CHECK(p.text.size() == before.size() + 3);
    // Every other line is byte-identical, in place.
    const auto a = lines_of(before), b = lines_of(p.text);
    REQUIRE(a.size() == b.size());
    for (std::size_t i = 0; i < a.size(); ++i) {
      if (i + 1 == 19 || i + 1 == 21 || i + 1 == 22)
        CHECK(b[i] == "#" + a[i]);
      else
        CHECK(b[i] == a[i]);
    }
    // The result parses and keeps CID.
    auto d = parse_descriptor(p.text);
    REQUIRE(d.ok());
    CHECK(d->get("CID") == std::optional<std::string>("fffffffe"));
  }
}

TEST_CASE("repair: --delete removes the lines and shrinks the text", "[vmdk][repair]") {
  const std::string before = kVirtualBoxDescriptor;
  RepairOptions o;
  o.consumers = kMvmc;
  o.delete_lines = true;
  const RepairPlan p = plan(before, o);
  REQUIRE(p.edits.size() == 4);
  for (const auto& e : p.edits) {
    CHECK(e.action == RepairAction::remove);
    CHECK(e.key.rfind("ddb.uuid.", 0) == 0);
    CHECK(e.after.empty());
  }
  CHECK(p.text.find("ddb.uuid") == std::string::npos);
  CHECK(p.text.size() < before.size());
  CHECK(p.remaining.empty());
}

TEST_CASE("repair: the kept set can be extended and replaced", "[vmdk][repair]") {
  RepairOptions o;
  o.consumers = kMvmc;
  o.mvmc_keep.push_back("ddb.uuid");
  CHECK(plan(vmware_descriptor("1"), o).edits.size() == 2);
  o.mvmc_keep = {"ddb.adapterType"};
  CHECK(plan(vmware_descriptor("1"), o).edits.size() == 8);
}

TEST_CASE("repair: CRLF line ends are kept, inserted lines use them too", "[vmdk][repair]") {
  std::string before = to_crlf(kiwi_descriptor("2"));
  before.erase(0, before.find('\n') + 1);  // no "# Disk DescriptorFile" line
  const RepairPlan p = plan(before, {});
  bool inserted = false, commented = false;
  for (const auto& e : p.edits) {
    inserted |= e.action == RepairAction::insert && e.after == "# Disk DescriptorFile";
    commented |= e.action == RepairAction::comment_out && e.key == "ddb.toolsInstallType";
  }
  CHECK(inserted);
  CHECK(commented);
  for (const auto& l : lines_of(p.text)) CHECK(l.size() >= 2);
  for (const auto& l : lines_of(p.text)) CHECK(l.substr(l.size() - 2) == "\r\n");
  CHECK(p.text.rfind("# Disk DescriptorFile\r\n", 0) == 0);
  CHECK(p.remaining.empty());
}

TEST_CASE("repair: qemu's text-descriptor pitfalls", "[vmdk][repair]") {
  const std::string before =
      "# Disk DescriptorFile\n"
      "version=1\n"
      "parentCID=ffffffff\n"
      "CID=0a1b2c3d\n"
      "createType = \"monolithicFlat\"\n"
      "\n"
      "# Extent description\n"
      "RW 2048 FLAT \"disk-flat.vmdk\"\n"
      "\n"
      "#DDB\n"
      "ddb.adapterType = \"lsilogic\"\n";
  RepairOptions o;
  o.consumers = kQemu;
  o.standalone = true;
  const RepairPlan p = plan(before, o);
  CHECK(p.remaining.empty());
  const std::string want =
      "# Disk DescriptorFile\n"
      "version=1\n"
      "CID=0a1b2c3d\n"
      "parentCID=ffffffff\n"
      "createType=\"monolithicFlat\"\n"
      "\n"
      "# Extent description\n"
      "RW 2048 FLAT \"disk-flat.vmdk\" 0\n"
      "\n"
      "#DDB\n"
      "ddb.adapterType = \"lsilogic\"\n";
  CHECK(p.text == want);
  bool moved = false;
  for (const auto& e : p.edits) moved |= e.action == RepairAction::move && e.key == "CID";
  CHECK(moved);
  // The MVMC rule is not applied when only qemu is asked for.
  CHECK(p.text.find("#ddb") == std::string::npos);
}

TEST_CASE("repair: unquoted extent names and wrong-case keys", "[vmdk][repair]") {
  const std::string before =
      "# Disk DescriptorFile\nversion=1\nCID=12345678\nparentCID=ffffffff\n"
      "createtype=\"twoGbMaxExtentFlat\"\n\nRW 4192256 FLAT disk-f001.vmdk 0\n"
      "rw 1000 flat \"disk-f002.vmdk\" 0\n";
  RepairOptions o;
  o.standalone = true;
  const RepairPlan p = plan(before, o);
  CHECK(p.text.find("createType=\"twoGbMaxExtentFlat\"\n") != std::string::npos);
  CHECK(p.text.find("RW 4192256 FLAT \"disk-f001.vmdk\" 0\n") != std::string::npos);
  CHECK(p.text.find("RW 1000 FLAT \"disk-f002.vmdk\" 0\n") != std::string::npos);
  for (const auto& f : p.remaining) INFO(f.rule << ": " << f.detail);
  CHECK(p.remaining.empty());
}

TEST_CASE("repair: the area bound", "[vmdk][repair]") {
  const std::string before = vmware_descriptor("1");
  RepairOptions o;
  o.consumers = kMvmc;
  o.area_bytes = before.size() + 2;  // three '#' do not fit
  auto r = plan_repair(before, o);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == Errc::invalid_argument);
  CHECK(r.status().message().find("--delete") != std::string::npos);
  o.delete_lines = true;
  auto d = plan_repair(before, o);
  REQUIRE(d.ok());
  CHECK(d->text.size() <= o.area_bytes);
}

TEST_CASE("repair: NUL padding is ignored, a repaired descriptor needs nothing more",
          "[vmdk][repair]") {
  for (const std::string& text :
       {vmware_descriptor("4"), std::string(kVirtualBoxDescriptor), kiwi_descriptor("0"),
        std::string(kQemuMonolithicSparse)}) {
    std::string padded = text;
    padded.resize(10240, '\0');
    RepairOptions o;
    o.area_bytes = 10240;
    const RepairPlan p = plan(padded, o);
    const RepairPlan again = plan(p.text, o);
    CHECK(again.edits.empty());
    CHECK(again.text == p.text);
  }
}

TEST_CASE("repair: what cannot be fixed is reported, not invented", "[vmdk][repair]") {
  // No CID at all: repair does not make one up.
  const std::string before =
      "# Disk DescriptorFile\nversion=1\nparentCID=ffffffff\ncreateType=\"monolithicSparse\"\n"
      "RW 100 SPARSE \"d.vmdk\"\n";
  RepairOptions o;
  o.consumers = kQemu;
  const RepairPlan p = plan(before, o);
  CHECK(p.edits.empty());
  REQUIRE(p.remaining.size() == 1);
  CHECK(p.remaining[0].rule == "qemu-cid");
  CHECK(p.text == before);
}
