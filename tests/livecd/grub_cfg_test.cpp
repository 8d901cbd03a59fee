// The repack's grub.cfg (formats/iso9660/livecd/grub_cfg.h): text, quoting checked against a real shell lexer
// (GRUB quotes as sh does) and grub-script-check, and refusals.
#include <catch2/catch.hpp>

#include <string>

#include "formats/iso9660/livecd/grub_cfg.h"
#include "test_support.h"

using namespace vdisk;
using namespace vdisk::livecd;
using vdisk::test::TempDir;

namespace {

BootEntry sample() {
  BootEntry e;
  e.config_file = "/isolinux/isolinux.cfg";
  e.label = "Live";
  e.kernel = "/boot/vmlinuz";
  e.initrds = {"/boot/initrd.gz"};
  e.append = "console=ttyS0 quiet panic=-1 rdinit=/init";
  return e;
}

std::string config(const BootEntry& e, std::string_view volid = "VDISKCD",
                   const GrubConfigOptions& o = {}) {
  auto r = grub_config(e, volid, 3, o);
  REQUIRE(r.ok());
  return *r;
}

}  // namespace

TEST_CASE("grub.cfg: the text for a plain entry", "[livecd][grub_cfg]") {
  CHECK(config(sample()) ==
        "# Written by libvdisk's live-ISO repack (GRUB on the ESP; the ISO is partition 3).\n"
        "# Boot entry from the ISO's /isolinux/isolinux.cfg\n"
        "serial --unit=0 --speed=115200\n"
        "terminal_input serial console\n"
        "terminal_output serial console\n"
        "set timeout=1\n"
        "set default=0\n"
        "if regexp --set=1:vdisk_disk '^(.+),gpt[0-9]+$' \"$root\"; then\n"
        "  set root=\"${vdisk_disk},gpt3\"\n"
        "else\n"
        "  search --no-floppy --set=root --label VDISKCD\n"
        "fi\n"
        "menuentry Live {\n"
        "  echo \"vdisk: ISO partition ($root)\"\n"
        "  linux ($root)/boot/vmlinuz console=ttyS0 quiet panic=-1 rdinit=/init\n"
        "  initrd ($root)/boot/initrd.gz\n"
        "}\n");
  GrubConfigOptions o;
  o.timeout_seconds = 5;
  o.serial_unit = 1;
  o.serial_speed = 9600;
  BootEntry e = sample();
  e.initrds = {"/a.img", "/b.img"};
  e.label.clear();
  const std::string cfg = config(e, "", o);
  CHECK_THAT(cfg, Catch::Contains("serial --unit=1 --speed=9600\n"));
  CHECK_THAT(cfg, Catch::Contains("set timeout=5\n"));
  CHECK_THAT(cfg, Catch::Contains("  initrd ($root)/a.img ($root)/b.img\n"));
  CHECK_THAT(cfg, Catch::Contains("menuentry 'Live ISO' {"));
  CHECK_THAT(cfg, !Catch::Contains("search"));  // no volume id: no label fallback
}

TEST_CASE("grub.cfg: quoting survives a real lexer and grub-script-check", "[livecd][grub_cfg]") {
  CHECK(grub_quote("plain/path-1.2_x") == "plain/path-1.2_x");
  CHECK(grub_quote("") == "''");
  CHECK(grub_quote("a b") == "'a b'");
  CHECK(grub_quote("it's") == "'it'\\''s'");
  CHECK(grub_quote("$root") == "'$root'");
  CHECK(grub_quote("*") == "'*'");

  // GRUB's quoting rules for '...' and \ are sh's: bash must give back every word unchanged.
  const std::vector<std::string> words = {"a b",   "$x",  "${y}", "'",    "''",  "\"q\"", "a;b",
                                          "a|b",   "a&b", "<>",   "{}",   "#c",  "*?[",   "\\",
                                          "\\x20", "é",   "\t",   "a\nb", "end'"};
  TempDir dir;
  std::string script = "printf '%s\\0'";
  std::string expect;
  for (const auto& w : words) {
    script += " " + grub_quote(w);
    expect += w + '\0';
  }
  vdisk::test::write_file(dir / "q.sh", vdisk::test::bytes_of(script + "\n"));
  std::string out;
  REQUIRE(vdisk::test::run("bash '" + (dir / "q.sh").string() + "'", &out) == 0);
  CHECK(out == expect);

  BootEntry e = sample();
  e.kernel = "/boot/my kernel$1";
  e.initrds = {"/it's/initrd.img", "/x{y}.img"};
  e.label = "Live; rm -rf /\nsecond line";
  e.config_file = "/isolinux/\nmenuentry evil {";
  e.append = "root=live:CDLABEL=My%Live a=$HOME b;c {d} *";
  const std::string cfg = config(e, "VOL ID'$");
  CHECK_THAT(cfg, Catch::Contains("linux ($root)'/boot/my kernel$1' root=live:CDLABEL=My%Live "
                                  "'a=$HOME' 'b;c' '{d}' '*'\n"));
  CHECK_THAT(cfg, Catch::Contains("initrd ($root)'/it'\\''s/initrd.img' ($root)'/x{y}.img'\n"));
  CHECK_THAT(cfg, Catch::Contains("--label 'VOL ID'\\''$'\n"));
  CHECK_THAT(cfg, Catch::Contains("menuentry 'Live; rm -rf /?second line' {"));
  CHECK_THAT(cfg, Catch::Contains("# Boot entry from the ISO's /isolinux/?menuentry evil {\n"));
  const auto path = dir / "grub.cfg";
  vdisk::test::write_file(path, vdisk::test::bytes_of(cfg));
  CHECK(vdisk::test::run("grub-script-check '" + path.string() + "'") == 0);
  // The checker does catch a broken config (the control for the line above).
  vdisk::test::write_file(path, vdisk::test::bytes_of("menuentry 'x' {\n  linux '/a\n"));
  CHECK(vdisk::test::run("grub-script-check '" + path.string() + "' 2>/dev/null") != 0);
}

TEST_CASE("grub.cfg: kernel arguments split at blanks, quotes and backslashes refused",
          "[livecd][grub_cfg][hostile]") {
  auto words = grub_kernel_words("  a\tb=c   d=%2f:$x;{}  ");
  REQUIRE(words.ok());
  CHECK(*words == std::vector<std::string>{"a", "b=c", "d=%2f:$x;{}"});
  CHECK(grub_kernel_words("")->empty());
  for (const char* bad : {"a=\"b c\"", "it's", "a\\b", "tail\\", "a\\x20", "\\"}) {
    INFO(bad);
    auto r = grub_kernel_words(bad);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == Errc::invalid_argument);
  }
  CHECK_THAT(grub_kernel_words("x\ny").status().message(),
             Catch::Contains("control character 0x0a"));
  CHECK_THAT(grub_kernel_words("q=\"1\"").status().message(), Catch::Contains("holds a quote"));
  CHECK(grub_kernel_words(std::string(70000, 'a')).status().code() == Errc::invalid_argument);
}

TEST_CASE("grub.cfg: bad entries and options are refused", "[livecd][grub_cfg][hostile]") {
  auto refused = [](const BootEntry& e, const char* needle, GrubConfigOptions o = {},
                    unsigned part = 3) {
    auto r = grub_config(e, "VOL", part, o);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == Errc::invalid_argument);
    CHECK_THAT(r.status().message(), Catch::Contains(needle));
  };
  BootEntry e = sample();
  e.kernel = "";
  refused(e, "kernel path '' is not an absolute");
  e.kernel = "vmlinuz";
  refused(e, "kernel path 'vmlinuz' is not an absolute");
  e.kernel = "/a\rb";
  refused(e, "control character 0x0d");
  e = sample();
  e.initrds = {"/ok", "rel"};
  refused(e, "initrd path 'rel'");
  e.initrds.assign(65, "/i");
  refused(e, "65 initrds");
  e = sample();
  e.append = "a=\"b\"";
  refused(e, "holds a quote");
  // The command line x86 Linux keeps: 2047 bytes with "BOOT_IMAGE=(hd0,gpt000)/boot/vmlinuz".
  e = sample();
  const std::size_t room = 2047 - std::string_view("BOOT_IMAGE=(hd0,gpt000)/boot/vmlinuz").size();
  e.append = "x=" + std::string(room - 3, 'a');  // with its separating space: exactly full
  CHECK(grub_config(e, "VOL", 3, {}).ok());
  e.append += "a";
  refused(e, "x86 Linux keeps only 2047");
  GrubConfigOptions o;
  o.timeout_seconds = 3601;
  refused(sample(), "out of range", o);
  o = {};
  o.serial_unit = 4;
  refused(sample(), "out of range", o);
  refused(sample(), "out of range", {}, 0);
  auto r = grub_config(sample(), "BAD\nID", 3, {});
  CHECK(r.status().code() == Errc::invalid_argument);
}
