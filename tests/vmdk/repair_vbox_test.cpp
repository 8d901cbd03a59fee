// Repair for VirtualBox: the first line, the header/extent/ddb order, room in the area for the
// ddb.uuid.* keys VirtualBox adds, and pre-adding those keys on request. Every repaired text
// lints clean for VirtualBox, keeps its other lines and line ends, and repairs to itself.
#include <catch2/catch.hpp>

#include <algorithm>
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

std::vector<std::string> sorted_lines(const std::string& text) {
  auto v = lines_of(text);
  std::sort(v.begin(), v.end());
  return v;
}

RepairPlan plan(const std::string& text, RepairOptions o) {
  auto r = plan_repair(text, o);
  REQUIRE(r.ok());
  return *r;
}

RepairOptions for_virtualbox(std::uint64_t area = 0) {
  RepairOptions o;
  o.consumers = kVirtualBox;
  o.area_bytes = area;
  return o;
}

std::vector<const LintFinding*> with_rule(const std::vector<LintFinding>& fs,
                                          std::string_view rule) {
  std::vector<const LintFinding*> out;
  for (const auto& f : fs)
    if (f.rule == rule) out.push_back(&f);
  return out;
}

std::vector<LintFinding> virtualbox_lint(const std::string& text, std::uint64_t area = 0) {
  LintOptions lo;
  lo.area_bytes = area;
  auto r = lint_descriptor_text(text, lo);
  REQUIRE(r.ok());
  std::vector<LintFinding> out;
  for (auto& f : *r)
    if (f.consumers & kVirtualBox) out.push_back(f);
  return out;
}

// Planning the repaired text again changes nothing.
void check_fixed_point(const RepairPlan& p, const RepairOptions& o) {
  const RepairPlan again = plan(p.text, o);
  CHECK(again.edits.empty());
  CHECK(again.text == p.text);
}

std::string replace_once(std::string s, const std::string& from, const std::string& to) {
  const std::size_t at = s.find(from);
  REQUIRE(at != std::string::npos);
  return s.replace(at, from.size(), to);
}

}  // namespace

TEST_CASE("virtualbox: an existing first line moves up instead of being duplicated",
          "[vmdk][repair][virtualbox]") {
  const std::string before = "\n# comment\n" + std::string(kQemuMonolithicSparse);
  const RepairOptions o = for_virtualbox();
  const RepairPlan p = plan(before, o);
  REQUIRE(p.edits.size() == 1);
  CHECK(p.edits[0].action == RepairAction::move);
  CHECK(p.edits[0].rule == "vbox-first-line");
  CHECK(p.edits[0].line == 3);
  CHECK(p.text.starts_with("# Disk DescriptorFile\n\n# comment\nversion=1\n"));
  CHECK(sorted_lines(p.text) == sorted_lines(before));
  CHECK(virtualbox_lint(p.text).empty());
  check_fixed_point(p, o);
}

TEST_CASE("virtualbox: a missing first line is inserted", "[vmdk][repair][virtualbox]") {
  std::string before = kQemuMonolithicSparse;
  before.erase(0, before.find('\n') + 1);
  const RepairPlan p = plan(before, for_virtualbox());
  REQUIRE(p.edits.size() == 1);
  CHECK(p.edits[0].action == RepairAction::insert);
  CHECK(p.text == "# Disk DescriptorFile\n" + before);
}

TEST_CASE("virtualbox: entries are sorted into header, extent and ddb sections",
          "[vmdk][repair][virtualbox]") {
  SECTION("a ddb line before the extent moves after it") {
    // VirtualBox style with the adapter line written above the extent section.
    const std::string good = kVirtualBoxDescriptor;
    std::string before = replace_once(good, "ddb.adapterType=\"ide\"\n", "");
    before = replace_once(before, "\n# Extent description\n",
                          "ddb.adapterType=\"ide\"\n\n# Extent description\n");
    auto lint = virtualbox_lint(before);
    REQUIRE(with_rule(lint, "vbox-entry-order").size() == 1);
    CHECK(with_rule(lint, "vbox-entry-order")[0]->fixable);
    const RepairOptions o = for_virtualbox();
    const RepairPlan p = plan(before, o);
    REQUIRE(p.edits.size() == 1);
    CHECK(p.edits[0].action == RepairAction::move);
    CHECK(p.edits[0].line == 6);
    CHECK(p.edits[0].key == "ddb.adapterType");
    CHECK(p.edits[0].prevents == "VMDK: incorrect ordering of entries in descriptor in '<file>'");
    CHECK(sorted_lines(p.text) == sorted_lines(before));
    // Moved alone, next to the kept ddb entries (before the first, as it came before them).
    const auto out = lines_of(p.text);
    const auto extent = std::find(out.begin(), out.end(), "RW 204800 SPARSE \"vbox.vmdk\"\n");
    const auto moved = std::find(out.begin(), out.end(), "ddb.adapterType=\"ide\"\n");
    REQUIRE(extent != out.end());
    REQUIRE(moved != out.end());
    CHECK(moved > extent);
    CHECK(virtualbox_lint(p.text).empty());
    CHECK(p.remaining.empty());
    check_fixed_point(p, o);
  }
  SECTION("a header entry appended after the ddb lines moves into the header, CRLF kept") {
    std::string before = std::string(kQemuMonolithicSparse) + "isNativeSnapshot=\"no\"\n";
    std::string crlf;
    for (char c : before) {
      if (c == '\n') crlf += '\r';
      crlf += c;
    }
    const RepairOptions o = for_virtualbox();
    const RepairPlan p = plan(crlf, o);
    REQUIRE(p.edits.size() == 1);
    CHECK(p.edits[0].key == "isNativeSnapshot");
    CHECK(p.text.find("createType=\"monolithicSparse\"\r\nisNativeSnapshot=\"no\"\r\n\r\n") !=
          std::string::npos);
    CHECK(p.text.size() == crlf.size());
    CHECK(p.text.find("\n") == p.text.find("\r\n") + 1);  // still CRLF
    CHECK(std::count(p.text.begin(), p.text.end(), '\n') ==
          std::count(p.text.begin(), p.text.end(), '\r'));
    CHECK(virtualbox_lint(p.text).empty());
    check_fixed_point(p, o);
  }
  SECTION("only the entries out of order move; an unknown header key stays a header entry") {
    const std::string before =
        "# Disk DescriptorFile\nversion=1\nCID=12345678\nparentCID=ffffffff\n"
        "createType=\"monolithicSparse\"\n\n# Extent description\nRW 2048 SPARSE \"d.vmdk\"\n"
        "\n#DDB\nddb.adapterType = \"ide\"\nchangeTrackPath=\"d-ctk.vmdk\"\n"
        "ddb.geometry.heads = \"16\"\n";
    const RepairPlan p = plan(before, for_virtualbox());
    REQUIRE(p.edits.size() == 1);
    CHECK(p.edits[0].key == "changeTrackPath");
    CHECK(p.text.find("createType=\"monolithicSparse\"\nchangeTrackPath=\"d-ctk.vmdk\"\n") !=
          std::string::npos);
    CHECK(p.text.find("ddb.adapterType = \"ide\"\nddb.geometry.heads = \"16\"\n") !=
          std::string::npos);
    CHECK(virtualbox_lint(p.text).empty());
  }
  SECTION("entries of several sections moved to one place keep the section order") {
    // ddb line, then extent, then the whole header: the header stays, the other two follow it.
    const std::string before =
        "# Disk DescriptorFile\nddb.adapterType = \"ide\"\nRW 10 SPARSE \"x.vmdk\"\nversion=1\n"
        "CID=12345678\nparentCID=ffffffff\ncreateType=\"monolithicSparse\"";  // no last LF
    const RepairOptions o = for_virtualbox();
    const RepairPlan p = plan(before, o);
    CHECK(p.text ==
          "# Disk DescriptorFile\nversion=1\nCID=12345678\nparentCID=ffffffff\n"
          "createType=\"monolithicSparse\"\nRW 10 SPARSE \"x.vmdk\"\nddb.adapterType = \"ide\"\n");
    CHECK(p.edits.size() == 2);
    CHECK(virtualbox_lint(p.text).empty());
    check_fixed_point(p, o);
  }
  SECTION("an indented ddb line starts in the first column") {
    const std::string before = replace_once(kQemuMonolithicSparse, "ddb.adapterType = \"ide\"",
                                            "  ddb.adapterType = \"ide\"");
    REQUIRE(with_rule(virtualbox_lint(before), "vbox-entry-order").size() == 1);
    const RepairPlan p = plan(before, for_virtualbox());
    CHECK(p.text == kQemuMonolithicSparse);
    REQUIRE(p.edits.size() == 1);
    CHECK(p.edits[0].action == RepairAction::rewrite);
  }
  SECTION("ddb entries without any extent cannot be ordered: reported, not invented") {
    const std::string before =
        "# Disk DescriptorFile\nversion=1\nCID=12345678\nparentCID=ffffffff\n"
        "createType=\"monolithicFlat\"\nddb.adapterType = \"ide\"\n";
    auto lint = virtualbox_lint(before);
    REQUIRE(with_rule(lint, "vbox-entry-order").size() == 1);
    CHECK_FALSE(with_rule(lint, "vbox-entry-order")[0]->fixable);
    RepairOptions o = for_virtualbox();
    o.standalone = true;
    const RepairPlan p = plan(before, o);
    CHECK(p.edits.empty());
    CHECK(p.text == before);
    CHECK(with_rule(p.remaining, "vbox-entry-order").size() == 1);
  }
}

TEST_CASE("virtualbox: room for the ddb.uuid.* keys", "[vmdk][repair][virtualbox]") {
  // VirtualBox adds four lines: 14+15+21+27 key bytes, each + '=' + 38 + LF = 237 bytes.
  constexpr std::size_t kNeed =
      (14 + 1 + 38 + 1) + (15 + 1 + 38 + 1) + (21 + 1 + 38 + 1) + (27 + 1 + 38 + 1);
  const std::string base = kQemuMonolithicSparse;
  const std::string old1 = "#ddb.toolsInstallType = \"4\"\n";
  const std::string old2 = "#ddb.longContentID = \"1bd5e2bb1fe0dd5f1b8d0e6ffffffffe\"\n";

  SECTION("commented-out ddb lines are dropped, last first, until the keys fit") {
    const std::string before = base + old1 + old2;
    const std::uint64_t area = base.size() + old1.size() + kNeed;  // old2 must go, old1 may stay
    auto lint = virtualbox_lint(before, area);
    REQUIRE(with_rule(lint, "vbox-room").size() == 1);
    CHECK(with_rule(lint, "vbox-room")[0]->fixable);
    const RepairOptions o = for_virtualbox(area);
    const RepairPlan p = plan(before, o);
    REQUIRE(p.edits.size() == 1);
    CHECK(p.edits[0].action == RepairAction::remove);
    CHECK(p.edits[0].rule == "vbox-room");
    CHECK(p.edits[0].before + "\n" == old2);
    CHECK(p.text == base + old1);
    CHECK(area - p.text.size() >= kNeed);
    CHECK(virtualbox_lint(p.text, area).empty());
    check_fixed_point(p, o);
  }
  SECTION("MVMC and VirtualBox: this run's comment-outs become deletions when room is short") {
    const std::string before = kVirtualBoxDescriptor;
    RepairOptions o;
    o.consumers = kMvmc | kVirtualBox;
    o.area_bytes = before.size() + 50;  // room for the '#'s, not for VirtualBox's re-adds
    const RepairPlan p = plan(before, o);
    std::size_t removed = 0, commented = 0;
    for (const RepairEdit& e : p.edits) {
      if (e.action == RepairAction::remove) ++removed;
      if (e.action == RepairAction::comment_out) ++commented;
      if (e.action == RepairAction::remove)
        CHECK(e.reason.find("deleted instead of commented out") != std::string::npos);
    }
    CHECK(removed == 4);
    CHECK(commented == 0);
    CHECK(p.text.find("ddb.uuid") == std::string::npos);
    CHECK(o.area_bytes - p.text.size() >= kNeed);
    CHECK(p.remaining.empty());
    check_fixed_point(p, o);
  }
  SECTION("with plenty of room nothing is dropped") {
    const std::string before = base + old1;
    const RepairPlan p = plan(before, for_virtualbox(10240));
    CHECK(p.edits.empty());
    CHECK(p.text == before);
  }
  SECTION("room that cannot be made is reported with its remedies, nothing dropped") {
    const std::string before = base + old1;
    const std::uint64_t area = before.size() + 100;  // + old1 still less than the keys need
    const RepairPlan p = plan(before, for_virtualbox(area));
    CHECK(p.edits.empty());
    CHECK(p.text == before);
    REQUIRE(p.remaining.size() == 1);
    const LintFinding& f = p.remaining[0];
    CHECK(f.rule == "vbox-room");
    CHECK_FALSE(f.fixable);
    CHECK(f.message == "VMDK: descriptor too long in '<file>'");
    CHECK(f.detail.find("remedy") != std::string::npos);
    CHECK(f.detail.find("read-only") != std::string::npos);
    CHECK(f.detail.find("qemu-img convert") != std::string::npos);
  }
}

TEST_CASE("virtualbox: ddb.uuid.* keys are pre-added only when asked",
          "[vmdk][repair][virtualbox]") {
  const std::string image = "0f1e2d3c-4b5a-4697-8877-665544332211";
  const std::string mod = "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d";
  RepairOptions o = for_virtualbox(10240);
  o.virtualbox_image_uuid = image;
  o.virtualbox_modification_uuid = mod;
  SECTION("after the last ddb line, zero parent uuids, CID untouched") {
    const std::string before = kQemuMonolithicSparse;
    const RepairPlan p = plan(before, o);
    CHECK(p.text == before + "ddb.uuid.image=\"" + image + "\"\n" +
                        "ddb.uuid.parent=\"00000000-0000-0000-0000-000000000000\"\n" +
                        "ddb.uuid.modification=\"" + mod + "\"\n" +
                        "ddb.uuid.parentmodification=\"00000000-0000-0000-0000-000000000000\"\n");
    REQUIRE(p.edits.size() == 4);
    CHECK(p.edits[0].rule == "vbox-uuids");
    CHECK(p.edits[0].action == RepairAction::insert);
    CHECK(p.text.find("CID=52b6e3a1\n") != std::string::npos);
    // VirtualBox now has nothing to add: no room problem even in an area just as large.
    CHECK(virtualbox_lint(p.text, p.text.size()).empty());
    check_fixed_point(p, o);
  }
  SECTION("a last line ended by CRs alone is closed before the keys") {
    // The parser ends lines only at LF, so "...\r" then a NUL (or the end) leaves the last line
    // open: a key appended after the CR would become part of it (found by fuzzing).
    std::string before = kQemuMonolithicSparse;
    REQUIRE(before.back() == '\n');
    before.back() = '\r';
    for (const std::string& text : {before, before + std::string(3, '\0') + "\n"}) {
      const RepairPlan p = plan(text, o);
      auto d = parse_descriptor(p.text);
      REQUIRE(d.ok());
      CHECK(p.text.find(before.substr(0, before.size() - 1) + "\r\nddb.uuid.image=") == 0);
      check_fixed_point(p, o);
    }
  }
  SECTION("keys already there are kept") {
    const RepairPlan p = plan(kVirtualBoxDescriptor, o);
    CHECK(p.text == kVirtualBoxDescriptor);
  }
  SECTION("refused with MVMC, for a delta link, for a bad uuid and without room") {
    RepairOptions m = o;
    m.consumers = kMvmc | kVirtualBox;
    CHECK(plan_repair(kQemuMonolithicSparse, m).status().code() == Errc::invalid_argument);
    const std::string delta =
        replace_once(kQemuMonolithicSparse, "parentCID=ffffffff", "parentCID=0a0b0c0d");
    CHECK(plan_repair(delta, o).status().code() == Errc::invalid_argument);
    RepairOptions bad = o;
    bad.virtualbox_image_uuid = "not-a-uuid";
    CHECK(plan_repair(kQemuMonolithicSparse, bad).status().code() == Errc::invalid_argument);
    RepairOptions tight = o;
    tight.area_bytes = std::string(kQemuMonolithicSparse).size() + 100;
    auto r = plan_repair(kQemuMonolithicSparse, tight);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == Errc::invalid_argument);
    CHECK(r.status().message().find("larger descriptor area") != std::string::npos);
  }
}

TEST_CASE("repair: a header value that needs its quotes keeps them", "[vmdk][repair]") {
  // version is written bare ("version=1"), but a value holding quotes or blanks would not read
  // back without its own (found by fuzzing: version=""x"y" became version="x"y).
  const std::string text =
      "version = \"\"streamOptimized\"f = \"\nCID=fffffffe\n"
      "RW 2048 SPARSE \"d.vmdk\"\n";
  RepairOptions o;
  o.consumers = kAllConsumers;
  o.standalone = true;
  auto p = plan_repair(text, o);
  REQUIRE(p.ok());
  auto before = parse_descriptor(text);
  auto after = parse_descriptor(p->text);
  REQUIRE(before.ok());
  REQUIRE(after.ok());
  REQUIRE(after->find("version"));
  CHECK(after->find("version")->value == before->find("version")->value);
  auto plain = plan_repair("version = 1\nCID=fffffffe\nRW 2048 SPARSE \"d.vmdk\"\n", o);
  REQUIRE(plain.ok());
  CHECK(plain->text.find("\nversion=1\n") != std::string::npos);
}
