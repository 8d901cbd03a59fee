// Boot configuration readers (isolinux/syslinux and grub.cfg as live-ISO projects write them,
// and hostile ones), the kernel command line edits, and read_boot_configs() on ISOs made by
// xorriso with a real isolinux.bin.
#include <catch2/catch.hpp>

#include <map>

#include "formats/iso9660/boot_records.h"
#include "formats/iso9660/livecd/boot_config.h"
#include "formats/iso9660/livecd/kernel_args.h"
#include "test_support.h"
#include "vdisk/iso9660.h"

using namespace vdisk;
using namespace vdisk::livecd;
namespace fs = std::filesystem;
using vdisk::test::run;
using vdisk::test::TempDir;

namespace {

// A loader over an in-memory file set.
struct Files {
  std::map<std::string, std::string> files;
  ConfigLoader loader() const {
    return [this](const std::string& p) -> Result<std::string> {
      const auto it = files.find(p);
      if (it == files.end()) return not_found(p + ": no such file");
      return it->second;
    };
  }
};

BootEntry syslinux_ok(const std::string& path, const std::string& text, const Files& f = {}) {
  auto r = parse_syslinux_config(path, text, f.loader());
  INFO(r.status().to_string());
  REQUIRE(r.ok());
  return *r;
}

BootEntry grub_ok(const std::string& path, const std::string& text, const Files& f = {}) {
  auto r = parse_grub_config(path, text, f.loader());
  INFO(r.status().to_string());
  REQUIRE(r.ok());
  return *r;
}

// livecd-tools' isolinux.cfg (imgcreate/live.py), as written for Fedora-derived live ISOs.
const char* const kLivecdTools = R"(default vesamenu.c32
timeout 600

menu background splash.jpg
menu title Welcome to Fedora-x86_64!
menu color border 0 #ffffffff #00000000
menu hidden
menu hiddenrow 5

label linux0
  menu label ^Start Fedora-x86_64
  kernel vmlinuz0
  append initrd=initrd0.img root=live:CDLABEL=Fedora-x86_64 rootfstype=auto ro rd.live.image quiet  rhgb rd.luks=0 rd.md=0 rd.dm=0
  menu default
label check0
  menu label Verify ^and Start Fedora-x86_64
  kernel vmlinuz0
  append initrd=initrd0.img root=live:CDLABEL=Fedora-x86_64 rootfstype=auto ro rd.live.image quiet  rhgb rd.luks=0 rd.md=0 rd.dm=0 rd.live.check
menu separator
menu begin ^Troubleshooting
  menu title Troubleshooting
label basic0
  menu label Start Fedora-x86_64 in ^basic graphics mode.
  kernel vmlinuz0
  append initrd=initrd0.img root=live:CDLABEL=Fedora-x86_64 rootfstype=auto ro rd.live.image quiet  rhgb rd.luks=0 rd.md=0 rd.dm=0 nomodeset
label local
  menu label Boot from ^local drive
  localboot 0xffff
menu separator
label returntomain
  menu label Return to ^main menu.
  menu exit
menu end
)";

// Fedora's EFI grub.cfg (lorax / livecd-tools style).
const char* const kFedoraGrub = R"(set default="1"

function load_video {
  insmod efi_gop
  insmod efi_uga
  insmod video_bochs
  insmod video_cirrus
  insmod all_video
}

load_video
set gfxpayload=keep
insmod gzio
insmod part_gpt
insmod ext2

set timeout=60
### END /etc/grub.d/00_header ###

search --no-floppy --set=root -l 'Fedora-WS-Live-38-1-6'

### BEGIN /etc/grub.d/10_linux ###
menuentry 'Start Fedora-Workstation-Live 38' --class fedora --class gnu-linux --class gnu --class os {
	linuxefi /images/pxeboot/vmlinuz root=live:CDLABEL=Fedora-WS-Live-38-1-6  rd.live.image quiet rhgb
	initrdefi /images/pxeboot/initrd.img
}
menuentry 'Test this media & start Fedora-Workstation-Live 38' --class fedora --class gnu-linux --class gnu --class os {
	linuxefi /images/pxeboot/vmlinuz root=live:CDLABEL=Fedora-WS-Live-38-1-6  rd.live.image rd.live.check quiet
	initrdefi /images/pxeboot/initrd.img
}
submenu 'Troubleshooting -->' {
	menuentry 'Start Fedora-Workstation-Live 38 in basic graphics mode' --class fedora --class gnu-linux --class gnu --class os {
		linuxefi /images/pxeboot/vmlinuz root=live:CDLABEL=Fedora-WS-Live-38-1-6  rd.live.image nomodeset quiet rhgb
		initrdefi /images/pxeboot/initrd.img
	}
	menuentry 'Boot first drive' --class fedora --class gnu-linux --class gnu --class os {
		chainloader (hd0)+1
	}
}
)";

}  // namespace

TEST_CASE("syslinux: livecd-tools isolinux.cfg", "[livecd][boot_config]") {
  const BootEntry e = syslinux_ok("/isolinux/isolinux.cfg", kLivecdTools);
  CHECK(e.config_file == "/isolinux/isolinux.cfg");
  CHECK(e.label == "linux0");
  CHECK(e.kernel == "/isolinux/vmlinuz0");
  CHECK(e.initrds == std::vector<std::string>{"/isolinux/initrd0.img"});
  CHECK(e.append ==
        "root=live:CDLABEL=Fedora-x86_64 rootfstype=auto ro rd.live.image quiet rhgb rd.luks=0 "
        "rd.md=0 rd.dm=0");
}

TEST_CASE("syslinux: Debian-live style INCLUDE chain, UI menu, absolute paths",
          "[livecd][boot_config]") {
  Files f;
  f.files["/isolinux/menu.cfg"] =
      "menu hshift 0\nmenu width 82\ninclude stdmenu.cfg\n"
      "include live.cfg\nmenu begin advanced\nlabel hdt\n"
      "  com32 hdt.c32\nmenu end\n";
  f.files["/isolinux/stdmenu.cfg"] = "menu background splash.png\n";
  f.files["/isolinux/live.cfg"] =
      "label live-amd64\n\tmenu label ^Live system (amd64)\n\tmenu default\n"
      "\tlinux /live/vmlinuz\n\tinitrd /live/initrd.img\n"
      "\tappend boot=live components quiet splash\n"
      "label live-amd64-failsafe\n\tlinux /live/vmlinuz\n\tinitrd /live/initrd.img\n"
      "\tappend boot=live components memtest noapic\n";
  const BootEntry e = syslinux_ok("/isolinux/isolinux.cfg",
                                  "# D-I config version 2.0\ninclude menu.cfg\n"
                                  "default vesamenu.c32\nprompt 0\ntimeout 0\n",
                                  f);
  CHECK(e.label == "live-amd64");
  CHECK(e.config_file == "/isolinux/live.cfg");
  CHECK(e.kernel == "/live/vmlinuz");
  CHECK(e.initrds == std::vector<std::string>{"/live/initrd.img"});
  CHECK(e.append == "boot=live components quiet splash");
}

TEST_CASE("syslinux: DEFAULT forms", "[livecd][boot_config]") {
  SECTION("DEFAULT names a label; keywords in any case; global APPEND") {
    const BootEntry e = syslinux_ok("/syslinux/syslinux.cfg",
                                    "APPEND console=ttyS0\nDEFAULT Second\n"
                                    "LABEL first\n KERNEL a\nLabel second\n Kernel ../boot/b\n"
                                    " INITRD ../boot/i1,../boot/i2\n");
    CHECK(e.label == "second");
    CHECK(e.kernel == "/boot/b");
    CHECK(e.initrds == std::vector<std::string>{"/boot/i1", "/boot/i2"});
    CHECK(e.append == "console=ttyS0");
  }
  SECTION("DEFAULT names a kernel directly, with arguments") {
    const BootEntry e = syslinux_ok("/isolinux.cfg",
                                    "default vmlinuz initrd=initrd.gz,/extra.cpio quiet\n"
                                    "append vga=788\n");
    CHECK(e.kernel == "/vmlinuz");
    CHECK(e.initrds == std::vector<std::string>{"/initrd.gz", "/extra.cpio"});
    CHECK(e.append == "quiet vga=788");
  }
  SECTION("ONTIMEOUT wins in a menu; APPEND - clears the global append") {
    const BootEntry e = syslinux_ok("/isolinux/isolinux.cfg",
                                    "ui menu.c32\nappend quiet\nontimeout b\n"
                                    "label a\n menu default\n kernel k1\n"
                                    "label b\n kernel k2\n append -\n");
    CHECK(e.label == "b");
    CHECK(e.append.empty());
  }
  SECTION("a menu with no MENU DEFAULT boots the first label") {
    const BootEntry e = syslinux_ok("/isolinux/isolinux.cfg",
                                    "default menu.c32\nlabel x\n kernel kx\nlabel y\n kernel ky\n");
    CHECK(e.label == "x");
  }
  SECTION("TEXT HELP blocks are skipped") {
    const BootEntry e = syslinux_ok("/isolinux/isolinux.cfg",
                                    "default a\nlabel a\n kernel k\ntext help\n label bogus\n"
                                    " kernel bogus\nendtext\n append ok=1\n");
    CHECK(e.kernel == "/isolinux/k");
    CHECK(e.append == "ok=1");
  }
}

TEST_CASE("syslinux: errors name the file and the line", "[livecd][boot_config]") {
  Files f;
  SECTION("LABEL without a name") {
    auto r = parse_syslinux_config("/isolinux/isolinux.cfg", "default a\n\nlabel\n", f.loader());
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == Errc::corrupt);
    CHECK(r.status().message() ==
          "/isolinux/isolinux.cfg line 3: expected a name after LABEL, found nothing");
  }
  SECTION("default label without a kernel") {
    auto r = parse_syslinux_config("/i.cfg", "default a\nlabel a\n append x\n", f.loader());
    CHECK(r.status().message() ==
          "/i.cfg line 2: label \"a\": expected a KERNEL or LINUX line, found none");
  }
  SECTION("default LOCALBOOT / COM32") {
    auto r = parse_syslinux_config("/i.cfg", "default a\nlabel a\n localboot 0\n", f.loader());
    CHECK(r.status().code() == Errc::unsupported);
    auto r2 = parse_syslinux_config("/i.cfg", "default hdt.c32\n", f.loader());
    CHECK(r2.status().code() == Errc::not_found);  // a menu with no labels
  }
  SECTION("DEFAULT naming nothing, no DEFAULT") {
    auto r = parse_syslinux_config("/i.cfg", "label a\n kernel k\n", f.loader());
    CHECK(r.status().code() == Errc::not_found);
  }
  SECTION("INCLUDE loop and missing INCLUDE") {
    f.files["/a.cfg"] = "include /a.cfg\n";
    auto r = parse_syslinux_config("/a.cfg", f.files["/a.cfg"], f.loader());
    CHECK(r.status().code() == Errc::resource_exhausted);
    CHECK(r.status().message().find("nested deeper than 8") != std::string::npos);
    auto r2 = parse_syslinux_config("/b.cfg", "include nope.cfg\n", f.loader());
    CHECK(r2.status().code() == Errc::not_found);
    CHECK(r2.status().message().find("/b.cfg line 1: INCLUDE /nope.cfg") == 0);
  }
  SECTION("too large, too many labels") {
    BootConfigLimits limits;
    limits.max_file_bytes = 10;
    CHECK(parse_syslinux_config("/i.cfg", "default a\nlabel a\n", f.loader(), limits)
              .status()
              .code() == Errc::resource_exhausted);
    std::string many;
    for (int i = 0; i < 5000; ++i) many += "label l" + std::to_string(i) + "\n";
    CHECK(parse_syslinux_config("/i.cfg", many, f.loader()).status().code() ==
          Errc::resource_exhausted);
  }
}

TEST_CASE("grub: Fedora's EFI grub.cfg and default forms", "[livecd][boot_config]") {
  SECTION("set default=\"1\"") {
    const BootEntry e = grub_ok("/EFI/BOOT/grub.cfg", kFedoraGrub);
    CHECK(e.label == "Test this media & start Fedora-Workstation-Live 38");
    CHECK(e.kernel == "/images/pxeboot/vmlinuz");
    CHECK(e.initrds == std::vector<std::string>{"/images/pxeboot/initrd.img"});
    CHECK(e.append == "root=live:CDLABEL=Fedora-WS-Live-38-1-6 rd.live.image rd.live.check quiet");
    CHECK(e.config_file == "/EFI/BOOT/grub.cfg");
  }
  std::string text = kFedoraGrub;
  const auto set_default = [&](const std::string& value) {
    std::string t = text;
    t.replace(0, t.find('\n'), "set default=" + value);
    return t;
  };
  SECTION("a submenu path, a title, an index out of range, a submenu") {
    CHECK(grub_ok("/g.cfg", set_default("'2>0'")).label ==
          "Start Fedora-Workstation-Live 38 in basic graphics mode");
    CHECK(grub_ok("/g.cfg", set_default("'Start Fedora-Workstation-Live 38'")).label ==
          "Start Fedora-Workstation-Live 38");
    CHECK(grub_ok("/g.cfg", set_default("7")).label == "Start Fedora-Workstation-Live 38");
    CHECK(grub_ok("/g.cfg", set_default("2")).label ==
          "Start Fedora-Workstation-Live 38 in basic graphics mode");
    CHECK(grub_ok("/g.cfg", set_default("\"${saved_entry}\"")).label ==
          "Start Fedora-Workstation-Live 38");
  }
  SECTION("chainloader default is unsupported") {
    auto r = parse_grub_config("/g.cfg", set_default("'2>1'"), Files().loader());
    CHECK(r.status().code() == Errc::unsupported);
    CHECK(r.status().message().find("runs chainloader") != std::string::npos);
  }
}

TEST_CASE("grub: devices, variables, quoting, source, ids", "[livecd][boot_config]") {
  Files f;
  f.files["/boot/grub/live.cfg"] =
      "menuentry \"Live system (amd64)\" --id live {\n"
      "  linux ($root)/live/vmlinuz boot=live components $extra \"label=My Live\"\n"
      "  initrd (cd0)/live/initrd.img /live/extra.img\n}\n";
  const BootEntry e = grub_ok("/boot/grub/grub.cfg",
                              "if [ x$feature_default_font_path = xy ] ; then\n"
                              "   font=unicode\nelse\n   font=$prefix/font.pf2\nfi\n"
                              "set extra='quiet splash'  # comment\n"
                              "set default=live\nsource /boot/grub/live.cfg\n"
                              "menuentry 'Other' { linux /other }\n",
                              f);
  CHECK(e.label == "Live system (amd64)");
  CHECK(e.config_file == "/boot/grub/live.cfg");
  CHECK(e.kernel == "/live/vmlinuz");
  CHECK(e.initrds == std::vector<std::string>{"/live/initrd.img", "/live/extra.img"});
  CHECK(e.append == "boot=live components quiet splash \"label=My Live\"");
}

TEST_CASE("grub: errors name the file and the line", "[livecd][boot_config]") {
  Files f;
  const auto err = [&](const std::string& text) {
    auto r = parse_grub_config("/boot/grub/grub.cfg", text, f.loader());
    REQUIRE_FALSE(r.ok());
    return r.status();
  };
  CHECK(err("menuentry 'a' {\n linux /k\n").message() ==
        "/boot/grub/grub.cfg line 3: expected '}' to close the block opened at line 1, found the "
        "end of the file");
  CHECK(err("set x=1\nmenuentry 'a {\n").message() ==
        "/boot/grub/grub.cfg line 2: expected a closing single quote, found the end of the file");
  CHECK(err("}\n").code() == Errc::corrupt);
  CHECK(err("menuentry 'a'\n").message().find("expected a { ... } block") != std::string::npos);
  CHECK(err("menuentry a { linux vmlinuz }").message() ==
        "/boot/grub/grub.cfg line 1: expected an absolute kernel path, found \"vmlinuz\"");
  CHECK(err("menuentry a { initrd /i }").code() == Errc::unsupported);
  CHECK(err("set default=0\n").code() == Errc::not_found);
  f.files["/loop.cfg"] = "source /loop.cfg\n";
  CHECK(err("source /loop.cfg\n").code() == Errc::resource_exhausted);
  std::string deep;
  for (int i = 0; i < 100; ++i) deep += "{ x\n";
  CHECK(err("menuentry a " + deep).code() == Errc::corrupt);
}

TEST_CASE("kernel args: edits", "[livecd][kernel_args]") {
  const std::string iso =
      "root=live:CDLABEL=Fedora-x86_64 rootfstype=auto ro rd.live.image quiet rhgb";
  const auto edit = [](std::string_view line, std::string_view edits) {
    auto r = edit_kernel_args(line, edits);
    INFO(r.status().to_string());
    REQUIRE(r.ok());
    return *r;
  };
  CHECK(edit(iso, "rootfstype=ext4 -rhgb -quiet nomodeset quiet") ==
        "root=live:CDLABEL=Fedora-x86_64 rootfstype=ext4 ro rd.live.image nomodeset quiet");
  CHECK(edit(iso, "ro") == iso);
  CHECK(edit("a console=tty1 b console=ttyS1,9600", "console=ttyS0 console=tty0") ==
        "a console=ttyS0 console=tty0 b");
  CHECK(edit("a console=tty1 b console=ttyS1", "-console=tty1") == "a b console=ttyS1");
  CHECK(edit("a console=tty1 b", "-console") == "a b");
  CHECK(edit("a -- single", "console=ttyS0 x") == "a console=ttyS0 x -- single");
  CHECK(edit("a \"x=1 2\" b", "x=3") == "a x=3 b");
  CHECK(edit("", "k=\"a b\"") == "k=\"a b\"");
  CHECK(edit_kernel_args("a", "-").status().code() == Errc::invalid_argument);
  CHECK(edit_kernel_args("a", "=x").status().code() == Errc::invalid_argument);
  CHECK(edit_kernel_args("a", "k=\"open").status().message() ==
        "kernel args: unbalanced double quote in \"k=\"open\"");
  CHECK(split_kernel_args(" a\t\"b c\"  d=\"e f\" ") ==
        std::vector<std::string>{"a", "\"b c\"", "d=\"e f\""});
  CHECK(kernel_arg_key("console=ttyS0,115200") == "console");
  CHECK(kernel_arg_key("\"a=b c\"") == "a");
}

TEST_CASE("kernel args: cloud defaults", "[livecd][kernel_args]") {
  const std::string iso = "root=live:CDLABEL=X rd.live.image quiet";
  auto r = cloud_kernel_args(iso, "");
  REQUIRE(r.ok());
  CHECK(*r == "root=live:CDLABEL=X rd.live.image quiet console=tty0 console=ttyS0,115200n8");
  r = cloud_kernel_args(iso + " console=ttyS1", "earlyprintk=ttyS0 rootdelay=300");
  REQUIRE(r.ok());
  CHECK(*r ==
        "root=live:CDLABEL=X rd.live.image quiet console=tty0 console=ttyS0,115200n8 "
        "earlyprintk=ttyS0 rootdelay=300");
  r = cloud_kernel_args(iso, "console=ttyS1,9600");
  REQUIRE(r.ok());
  CHECK(*r == "root=live:CDLABEL=X rd.live.image quiet console=ttyS1,9600");
  CHECK(cloud_kernel_args(iso, "-").status().code() == Errc::invalid_argument);
}

namespace {

std::string q(const fs::path& p) { return "'" + p.string() + "'"; }

BootConfigs configs_of(const fs::path& iso) {
  auto vol = iso9660::open_volume(iso);
  REQUIRE(vol.ok());
  auto file = open_file(iso);
  REQUIRE(file.ok());
  auto report = iso9660::boot_report(**file, vol->get());
  REQUIRE(report.ok());
  auto r = read_boot_configs(**vol, report->entries);
  INFO(r.status().to_string());
  REQUIRE(r.ok());
  return std::move(*r);
}

}  // namespace

TEST_CASE("read_boot_configs: an isolinux + EFI ISO made by xorriso", "[livecd][boot_config]") {
  TempDir t;
  const fs::path src = t / "src";
  fs::create_directories(src / "isolinux");
  fs::create_directories(src / "EFI/BOOT");
  fs::copy_file("/usr/lib/ISOLINUX/isolinux.bin", src / "isolinux/isolinux.bin");
  test::write_file(src / "isolinux/isolinux.cfg", test::bytes_of(kLivecdTools));
  test::write_file(src / "isolinux/vmlinuz0", test::pattern(4096, 1));
  test::write_file(src / "isolinux/initrd0.img", test::pattern(4096, 2));
  test::write_file(src / "EFI/BOOT/grub.cfg",
                   test::bytes_of("set default=\"0\"\nmenuentry 'Start' {\n"
                                  "  linuxefi /isolinux/vmlinuz0 root=live:CDLABEL=X quiet\n"
                                  "  initrdefi /isolinux/initrd0.img\n}\n"));
  REQUIRE(run("mkfs.vfat -C " + q(t / "efiboot.img") + " 1440 >/dev/null 2>&1") == 0);
  fs::copy_file(t / "efiboot.img", src / "isolinux/efiboot.img");
  SECTION("Rock Ridge names") {
    REQUIRE(run("xorriso -as mkisofs -quiet -R -V X -o " + q(t / "a.iso") +
                " -b isolinux/isolinux.bin -c isolinux/boot.cat -no-emul-boot -boot-load-size 4 "
                "-boot-info-table -eltorito-alt-boot -e isolinux/efiboot.img -no-emul-boot " +
                q(src) + " >/dev/null 2>&1") == 0);
    const BootConfigs c = configs_of(t / "a.iso");
    CHECK(c.bios_image == "/isolinux/isolinux.bin");
    REQUIRE(c.bios);
    CHECK(c.bios->config_file == "/isolinux/isolinux.cfg");
    CHECK(c.bios->kernel == "/isolinux/vmlinuz0");
    CHECK(c.bios->initrds == std::vector<std::string>{"/isolinux/initrd0.img"});
    REQUIRE(c.efi);
    CHECK(c.efi->config_file == "/EFI/BOOT/grub.cfg");
    CHECK(c.efi->append == "root=live:CDLABEL=X quiet");
    CHECK(c.notes.size() == 1);  // the EFI FAT image's own grub.cfg is not read
  }
  SECTION("plain ISO 9660 names, BIOS only, config missing its kernel") {
    fs::remove(src / "isolinux/vmlinuz0");
    REQUIRE(run("xorriso -as mkisofs -quiet -V X -o " + q(t / "b.iso") +
                " -b isolinux/isolinux.bin -c isolinux/boot.cat -no-emul-boot -boot-load-size 4 "
                "-boot-info-table " +
                q(src) + " >/dev/null 2>&1") == 0);
    const BootConfigs c = configs_of(t / "b.iso");
    // Without Rock Ridge the volume gives the ISO 9660 names in lower case.
    CHECK(c.bios_image == "/isolinux/isolinux.bin");
    REQUIRE(c.bios);
    CHECK(c.bios->config_file == "/isolinux/isolinux.cfg");
    CHECK_FALSE(c.efi);
    CHECK(c.efi_problem == "the El Torito catalog has no EFI entry");
    REQUIRE(c.notes.size() == 1);
    CHECK(c.notes[0] ==
          "/isolinux/vmlinuz0 (from /isolinux/isolinux.cfg) is not a file on the ISO");
  }
}
