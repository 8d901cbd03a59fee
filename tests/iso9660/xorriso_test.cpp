// The reader against ISOs made at test time by xorriso: listings compared with
// `xorriso -find -exec lsdl`, contents compared byte for byte with bsdtar extraction, zisofs,
// Joliet-only volumes, and boot reports for El Torito / appended ESP / isohybrid layouts.
#include <catch2/catch.hpp>

#include <algorithm>
#include <sstream>

#include <fmt/format.h>

#include "test_support.h"
#include "vdisk/image.h"
#include "vdisk/iso9660.h"

using namespace vdisk;
using namespace vdisk::iso9660;
namespace fs = std::filesystem;
using vdisk::test::run;
using vdisk::test::TempDir;

namespace {

std::string q(const fs::path& p) { return "'" + p.string() + "'"; }

void sh(const std::string& cmd) {
  INFO(cmd);
  REQUIRE(run(cmd + " >/dev/null 2>&1") == 0);
}

// A tree with deep directories, long and non-ASCII names, symlinks and a compressible file.
void make_tree(const fs::path& src) {
  fs::create_directories(src / "a/b/c/d/e/f/g/h/i/j");
  vdisk::test::write_file(src / "a/b/c/d/e/f/g/h/i/j/deep.txt", vdisk::test::bytes_of("deep\n"));
  vdisk::test::write_file(src / "h\xC3\xA9llo w\xC3\xB6rld.txt", vdisk::test::pattern(5000, 1));
  vdisk::test::write_file(src / std::string(180, 'L'), vdisk::test::pattern(70000, 2));
  std::string numbers;
  for (int i = 0; i < 40000; ++i) numbers += std::to_string(i) + "\n";
  vdisk::test::write_file(src / "numbers.txt", vdisk::test::bytes_of(numbers));
  vdisk::test::write_file(src / "empty", {});
  fs::create_symlink("a/b", src / "link");
  fs::create_symlink("/etc/passwd", src / "abs");
  fs::permissions(src / "numbers.txt", fs::perms(0640));
}

// "mode size 'path'[ -> 'target']" for every entry, sorted.
std::vector<std::string> our_listing(const Volume& v) {
  std::vector<std::string> out;
  Status s = v.walk(v.root(), [&](const std::string& path, const Entry& e) {
    const std::uint64_t size = e.type == EntryType::file ? e.size : 0;
    std::string line = fmt::format("{} {} '/{}'", mode_string(e.mode), size, path);
    if (e.type == EntryType::symlink) line += " -> '" + e.symlink_target + "'";
    out.push_back(line);
    return Status();
  });
  REQUIRE(s.ok());
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> xorriso_listing(const fs::path& iso) {
  std::string text;
  REQUIRE(run("xorriso -indev " + q(iso) + " -find / -exec lsdl 2>/dev/null", &text) == 0);
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream f(line);
    std::string mode, nlink, uid, gid, size;
    f >> mode >> nlink >> uid >> gid >> size;
    const auto quote = line.find('\'');
    if (quote == std::string::npos) continue;
    const std::string rest = line.substr(quote);
    if (rest == "'/'") continue;
    if (mode[0] == 'd' || mode[0] == 'l') size = "0";
    out.push_back(mode + " " + size + " " + rest);
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::unique_ptr<Volume> open_iso(const fs::path& p, VolumeOptions o = {}) {
  auto v = open_volume(p, o);
  INFO(v.status().to_string());
  REQUIRE(v.ok());
  return std::move(*v);
}

// Every regular file read through the library equals bsdtar's extraction.
void compare_with_bsdtar(const Volume& v, const fs::path& iso, const fs::path& out) {
  fs::create_directories(out);
  sh("bsdtar -xf " + q(iso) + " -C " + q(out));
  int files = 0;
  Status s = v.walk(v.root(), [&](const std::string& path, const Entry& e) {
    if (e.type != EntryType::file) return Status();
    auto f = v.open_file(e);
    REQUIRE(f.ok());
    std::vector<std::byte> got(static_cast<std::size_t>((*f)->size()));
    REQUIRE((*f)->read_at(0, got).ok());
    INFO(path);
    CHECK(got == vdisk::test::read_file(out / path));
    ++files;
    return Status();
  });
  REQUIRE(s.ok());
  CHECK(files >= 4);
}

}  // namespace

TEST_CASE("iso9660: Rock Ridge + Joliet listing matches xorriso and contents match bsdtar",
          "[iso9660][xorriso]") {
  TempDir t;
  make_tree(t / "src");
  const fs::path iso = t / "rr.iso";
  sh("xorriso -as mkisofs -R -J -o " + q(iso) + " " + q(t / "src"));
  auto v = open_iso(iso);
  CHECK(v->info().rock_ridge);
  CHECK(v->info().joliet_level == 3);
  CHECK(v->info().names == NameSource::rock_ridge);
  CHECK(our_listing(*v) == xorriso_listing(iso));
  compare_with_bsdtar(*v, iso, t / "out");
  auto l = v->lookup("link");
  REQUIRE(l.ok());
  CHECK(l->type == EntryType::symlink);
  CHECK(l->symlink_target == "a/b");
  auto n = v->lookup("numbers.txt");
  REQUIRE(n.ok());
  CHECK((n->mode & 0777) == 0640);
}

TEST_CASE("iso9660: Joliet-only volumes use Joliet names", "[iso9660][xorriso]") {
  TempDir t;
  make_tree(t / "src");
  fs::remove(t / "src/link");
  fs::remove(t / "src/abs");
  fs::remove_all(t / "src/a");
  fs::remove(t / "src" / std::string(180, 'L'));
  const fs::path iso = t / "j.iso";
  // xorriso writes Rock Ridge unless told not to.
  sh("xorriso -outdev " + q(iso) + " -rockridge off -joliet on -map " + q(t / "src") +
     " / -commit");
  auto v = open_iso(iso);
  CHECK_FALSE(v->info().rock_ridge);
  CHECK(v->info().names == NameSource::joliet);
  auto e = v->lookup("h\xC3\xA9llo w\xC3\xB6rld.txt");
  REQUIRE(e.ok());
  CHECK(e->size == 5000);
  VolumeOptions o;
  o.names = NameSource::plain;
  auto p = open_iso(iso, o);
  auto l = p->list(p->root());
  REQUIRE(l.ok());
  CHECK(std::any_of(l->begin(), l->end(), [](const Entry& x) { return x.name == "NUMBERS.TXT"; }));
}

TEST_CASE("iso9660: zisofs files are decompressed on read", "[iso9660][xorriso][zisofs]") {
  TempDir t;
  make_tree(t / "src");
  const fs::path iso = t / "z.iso";
  sh("xorriso -outdev " + q(iso) + " -zisofs block_size=32k -map " + q(t / "src") +
     " / -set_filter_r --zisofs / -- -commit");
  auto v = open_iso(iso);
  auto n = v->lookup("numbers.txt");
  REQUIRE(n.ok());
  CHECK(n->zisofs);
  CHECK(n->stored_size < n->size);
  compare_with_bsdtar(*v, iso, t / "out");
  // Reads that straddle compression blocks.
  auto f = v->open_file(*n);
  REQUIRE(f.ok());
  const auto want = vdisk::test::read_file(t / "src/numbers.txt");
  std::vector<std::byte> mid(40000);
  REQUIRE((*f)->read_at(30000, mid).ok());
  CHECK(std::equal(mid.begin(), mid.end(), want.begin() + 30000));
}

namespace {

struct BootFixture {
  TempDir t;
  fs::path src = t / "src";
  BootFixture() {
    fs::create_directories(src / "isolinux");
    fs::create_directories(src / "LiveOS");
    vdisk::test::write_file(src / "isolinux/isolinux.bin", vdisk::test::pattern(2048, 3));
    auto sq = vdisk::test::bytes_of("hsqs");
    auto rest = vdisk::test::pattern(4000, 4);
    sq.insert(sq.end(), rest.begin(), rest.end());
    vdisk::test::write_file(src / "LiveOS/squashfs.img", sq);
    vdisk::test::write_file(src / "isolinux/isolinux.cfg",
                            vdisk::test::bytes_of("label linux\n  append initrd=initrd0.img "
                                                  "root=live:CDLABEL=DRS\\x20LIVE rootfstype=auto "
                                                  "ro rd.live.image\n"));
    sh("mkfs.vfat -C " + q(t / "efi.img") + " 1440");
    sh("mmd -i " + q(t / "efi.img") + " ::EFI ::EFI/BOOT");
    vdisk::test::write_file(t / "BOOTX64.EFI", vdisk::test::bytes_of("efi"));
    sh("mcopy -i " + q(t / "efi.img") + " " + q(t / "BOOTX64.EFI") + " ::EFI/BOOT/");
    fs::copy_file(t / "efi.img", src / "efiboot.img");
    vdisk::test::write_file(t / "mbr.bin", vdisk::test::pattern(446, 5));
  }
  std::string common() const {
    return " -R -J -V 'DRS LIVE' -b isolinux/isolinux.bin -c isolinux/boot.cat -no-emul-boot "
           "-boot-load-size 4 -boot-info-table ";
  }
  std::string efi() const { return " -eltorito-alt-boot -e efiboot.img -no-emul-boot "; }
  BootReport report(const fs::path& iso) {
    auto v = open_iso(iso);
    auto file = open_file(iso);
    REQUIRE(file.ok());
    auto r = boot_report(**file, v.get());
    REQUIRE(r.ok());
    return std::move(*r);
  }
};

}  // namespace

TEST_CASE("iso9660: El Torito-only ISO does not boot as a disk", "[iso9660][xorriso][boot]") {
  BootFixture f;
  const fs::path iso = f.t / "plain.iso";
  sh("xorriso -as mkisofs" + f.common() + f.efi() + " -o " + q(iso) + " " + q(f.src));
  BootReport r = f.report(iso);
  CHECK(r.el_torito);
  REQUIRE(r.entries.size() == 2);
  CHECK(r.entries[0].platform == 0);
  CHECK(r.entries[0].sector_count == 4);
  CHECK(r.entries[1].platform == 0xEF);
  CHECK_FALSE(r.mbr_code_present);
  CHECK(r.isohybrid == IsohybridKind::none);
  CHECK_FALSE(r.bios_bootable_as_disk);
  CHECK_FALSE(r.uefi_bootable_as_disk);
  CHECK_THAT(r.uefi_reason, Catch::Contains("optical"));
  CHECK(r.livecd.detected);
  CHECK(r.livecd.cdlabel == "DRS LIVE");
  CHECK(r.livecd.cdlabel_matches_volume_id);
  CHECK(r.livecd.config_file == "isolinux/isolinux.cfg");

  // The driver warns through diagnostics and reports the same facts in describe().
  std::vector<std::string> warnings;
  OpenOptions o;
  o.on_diagnostic = [&](const Diagnostic& d) {
    if (d.level == Diagnostic::Level::warning) warnings.push_back(d.message);
  };
  auto src = open_image(iso, o);
  REQUIRE(src.ok());
  CHECK((*src)->format() == "iso9660");
  REQUIRE(warnings.size() == 1);
  CHECK_THAT(warnings[0], Catch::Contains("will not boot as a disk"));
  Properties p = describe(**src);
  const Properties* boot = p.get_object("boot");
  REQUIRE(boot);
  CHECK(boot->get("isohybrid") == "none");
  CHECK(boot->get("bios_bootable_as_disk") == "false");
}

TEST_CASE("iso9660: appended GPT ESP boots as a UEFI disk only", "[iso9660][xorriso][boot]") {
  BootFixture f;
  const fs::path iso = f.t / "gpt.iso";
  sh("xorriso -as mkisofs" + f.common() + f.efi() +
     " -appended_part_as_gpt -append_partition 2 C12A7328-F81F-11D2-BA4B-00A0C93EC93B " +
     q(f.t / "efi.img") + " -o " + q(iso) + " " + q(f.src));
  BootReport r = f.report(iso);
  CHECK(r.gpt_present);
  CHECK(r.gpt_valid);
  CHECK(r.esp_present);
  CHECK(r.isohybrid == IsohybridKind::protective_gpt);
  CHECK_FALSE(r.bios_bootable_as_disk);
  CHECK(r.uefi_bootable_as_disk);
}

TEST_CASE("iso9660: GRUB2 hybrid MBR with GPT ESP boots both ways", "[iso9660][xorriso][boot]") {
  BootFixture f;
  const fs::path iso = f.t / "grub.iso";
  sh("xorriso -as mkisofs" + f.common() + f.efi() + " --grub2-mbr " + q(f.t / "mbr.bin") +
     " -partition_offset 16 -appended_part_as_gpt -append_partition 2 "
     "C12A7328-F81F-11D2-BA4B-00A0C93EC93B " +
     q(f.t / "efi.img") + " -o " + q(iso) + " " + q(f.src));
  BootReport r = f.report(iso);
  CHECK(r.mbr_code_present);
  CHECK(r.isohybrid == IsohybridKind::grub2);
  CHECK(r.bios_bootable_as_disk);
  CHECK(r.uefi_bootable_as_disk);
}

TEST_CASE("iso9660: syslinux-style isohybrid MBR with EFI partition", "[iso9660][xorriso][boot]") {
  BootFixture f;
  // A stand-in for isohdpfx.bin (any 432+ byte code area); xorriso patches the loader LBA.
  const fs::path iso = f.t / "hyb.iso";
  sh("xorriso -as mkisofs" + f.common() + f.efi() + " -isohybrid-mbr " + q(f.t / "mbr.bin") +
     " -isohybrid-gpt-basdat -o " + q(iso) + " " + q(f.src));
  BootReport r = f.report(iso);
  CHECK(r.mbr_code_present);
  CHECK(r.esp_present);
  CHECK(r.isohybrid == IsohybridKind::syslinux_uefi);
  CHECK(r.bios_bootable_as_disk);
  CHECK(r.uefi_bootable_as_disk);
}
