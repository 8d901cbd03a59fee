// The hybridiser (libvdisk/src/formats/iso9660/livecd/hybrid.h) against ISOs made at test time by xorriso
// (isolinux, isolinux + EFI, GRUB El Torito, grub-mkrescue, xorriso isohybrid). Every byte of
// each view is checked: the ISO's outside the documented patches, sector 0 and the GPT as
// docs/livecd.md specifies them; sgdisk, xorriso and bsdtar read the result; the streaming form
// gives the same bytes.
#include <catch2/catch.hpp>

#include "hybrid_test_util.h"
#include "formats/iso9660/boot_records.h"

using namespace vdisk;
using namespace vdisk::livecd;
using namespace vdisk::test::hybrid;

TEST_CASE("livecd hybrid: isolinux BIOS-only ISO gets an isohybrid MBR", "[livecd][hybrid]") {
  Sources s;
  const fs::path iso = s.isolinux_iso(false);
  const std::uint64_t bin = file_offset(iso, "isolinux/isolinux.bin");
  Built b = build(iso);
  CHECK(b.plan.bios_loader == BiosLoader::isolinux);
  CHECK(b.plan.bios_boots);
  CHECK_FALSE(b.plan.uefi_boots);
  CHECK_FALSE(b.plan.write_gpt);
  CHECK_THAT(b.plan.uefi_reason, Catch::Contains("no UEFI"));
  CHECK(b.disk.size() == (b.iso.size() + kMiB - 1) / kMiB * kMiB);
  check_outside(b, {{0, 512}});
  check_common_sector0(b);
  const auto pfx = vdisk::test::read_file("/usr/lib/ISOLINUX/isohdpfx.bin");
  CHECK(std::equal(pfx.begin(), pfx.begin() + 432, b.disk.begin()));
  CHECK(load_le64(std::span(b.disk).subspan(432)) == bin / 512);
  // One active entry of type 0x17 from LBA 0 over the whole disk, as isohybrid writes it.
  CHECK(u8(b.disk, 446) == 0x80);
  CHECK(u8(b.disk, 450) == 0x17);
  CHECK(load_le32(std::span(b.disk).subspan(454)) == 0);
  CHECK(load_le32(std::span(b.disk).subspan(458)) == b.disk.size() / 512);
  for (std::size_t k = 462; k < 510; ++k) CHECK(u8(b.disk, k) == 0);
  check_map(b);
  check_tools(b, s.t / "bios.img", "/isolinux/isolinux.cfg");
  const std::string fd = out_of("sfdisk -d " + q(s.t / "bios.img"));
  CHECK_THAT(fd, Catch::Contains("start=           0"));
  Properties props;
  describe_hybrid_plan(b.plan, props);
  CHECK(props.get("action") == "hybridize");
  CHECK(props.get("bios_loader") == "isolinux");
  CHECK(props.get("gpt") == "false");

  // The boot report of the source says the image can be hybridised.
  auto f = open_file(iso);
  REQUIRE(f.ok());
  auto r = iso9660::boot_report(**f, nullptr);
  REQUIRE(r.ok());
  CHECK_FALSE(r->bios_bootable_as_disk);
}

TEST_CASE("livecd hybrid: isolinux + EFI ISO gets isohdpfx code, a pMBR and a GPT ESP",
          "[livecd][hybrid]") {
  Sources s;
  const fs::path iso = s.isolinux_iso(true);
  const std::uint64_t bin = file_offset(iso, "isolinux/isolinux.bin");
  const std::uint64_t efi = file_offset(iso, "efiboot.img");
  const std::uint64_t efi_bytes = fs::file_size(s.t / "efi.img");
  Built b = build(iso);
  CHECK(b.plan.bios_loader == BiosLoader::isolinux);
  CHECK(b.plan.write_gpt);
  CHECK(b.plan.uefi_boots);
  CHECK(b.plan.efi.path == "/efiboot.img");
  CHECK_FALSE(b.plan.efi.size_from_catalog);
  CHECK(b.plan.efi.bytes == efi_bytes);
  CHECK(b.plan.efi.loader == "\\EFI\\BOOT\\BOOTX64.EFI");
  CHECK(b.disk.size() == (b.iso.size() + 33 * 512 + kMiB - 1) / kMiB * kMiB);
  check_outside(b, {{0, 34 * 512}, {b.disk.size() - 33 * 512, 33 * 512}});
  check_common_sector0(b);
  const auto pfx = vdisk::test::read_file("/usr/lib/ISOLINUX/isohdpfx.bin");
  CHECK(std::equal(pfx.begin(), pfx.begin() + 432, b.disk.begin()));
  CHECK(load_le64(std::span(b.disk).subspan(432)) == bin / 512);
  // The primary header and array are what the library's GPT reader accepts, and so is the
  // backup (decode_header checks every LBA field against the disk).
  const std::uint64_t lbas = b.disk.size() / 512;
  auto h = vdisk::iso9660::detail::decode_gpt_header(
      std::span<const std::byte, 512>(b.disk.data() + 512, 512), 512);
  REQUIRE(h.ok());
  CHECK(h->first_usable == 34);
  CHECK(h->last_usable == lbas - 34);
  auto parts = vdisk::iso9660::detail::decode_gpt_entries(
      *h, std::span(b.disk).subspan(1024, 128 * 128), 1024);
  REQUIRE(parts.ok());
  REQUIRE(parts->size() == 1);
  CHECK((*parts)[0].esp);
  CHECK((*parts)[0].first_lba == efi / 512);
  check_map(b);
  check_tools(b, s.t / "efi-hyb.img", "/isolinux/isolinux.cfg");
  check_gpt(b, s.t / "efi-hyb.img", efi, efi_bytes);

  // The streaming form gives the same bytes, whatever the read size.
  {
    auto st = hybrid_stream(stream_of(b.iso));
    REQUIRE(st.ok());
    CHECK((*st)->plan().action == HybridAction::hybridize);
    REQUIRE((*st)->size());
    CHECK(*(*st)->size() == b.disk.size());
    Status err;
    CHECK(drain(**st, err, 777) == b.disk);
    CHECK(err.ok());
  }
  {
    auto st = hybrid_stream(stream_of(b.iso));
    REQUIRE(st.ok());
    std::vector<std::byte> all(b.disk.size() + 10);
    auto n = (*st)->read(all);
    REQUIRE(n.ok());
    CHECK(*n == b.disk.size());
    all.resize(*n);
    CHECK(all == b.disk);
  }
  {
    // A bound below the boot images: refused with one line, and the bytes pass through.
    HybridStreamOptions so;
    so.max_prefix = 40 * 1024;
    auto st = hybrid_stream(stream_of(b.iso), so);
    REQUIRE(st.ok());
    CHECK((*st)->plan().action == HybridAction::impossible);
    CHECK_THAT((*st)->plan().refusal, Catch::Contains("past the first 40960 bytes"));
    Status err;
    CHECK(drain(**st, err) == b.iso);
    CHECK(err.ok());
  }
  {
    // A stream longer than its volume descriptor says: an error, not a wrong GPT.
    auto longer = b.iso;
    longer.resize(longer.size() + 4096, std::byte{7});
    auto st = hybrid_stream(stream_of(longer));
    REQUIRE(st.ok());
    REQUIRE((*st)->plan().action == HybridAction::hybridize);
    Status err;
    (void)drain(**st, err);
    CHECK(err.code() == Errc::corrupt);
    CHECK_THAT(err.message(), Catch::Contains("longer"));
    // And a shorter one.
    auto shorter = b.iso;
    shorter.resize(shorter.size() - 2048);
    auto st2 = hybrid_stream(stream_of(shorter));
    REQUIRE(st2.ok());
    Status err2;
    (void)drain(**st2, err2);
    CHECK(err2.code() == Errc::corrupt);
  }

  // Deterministic: the same ISO gives the same disk.
  Built again = build(iso);
  CHECK(again.disk == b.disk);
  // The boot report of the hybrid disk finds the ESP and its loader, and BIOS code.
  std::shared_ptr<const RandomAccessFile> view_file = memory_file(b.disk);
  auto vol = iso9660::Volume::open(view_file);
  REQUIRE(vol.ok());
  auto r = iso9660::boot_report(*view_file, vol->get());
  REQUIRE(r.ok());
  CHECK(r->esp_present);
  CHECK(r->uefi_bootable_as_disk);
  CHECK(r->bios_bootable_as_disk);
  CHECK(r->isohybrid == iso9660::IsohybridKind::syslinux_uefi);
}

TEST_CASE("livecd hybrid: GRUB El Torito ISO gets boot_hybrid.img and the +2548 patch",
          "[livecd][hybrid]") {
  Sources s;
  const fs::path iso = s.grub_iso();
  const std::uint64_t img = file_offset(iso, "boot/grub/eltorito.img");
  Built b = build(iso);
  CHECK(b.plan.bios_loader == BiosLoader::grub);
  CHECK_FALSE(b.plan.grub_blocklist_patched);
  CHECK_FALSE(b.plan.write_gpt);
  // The ISO ships diskboot's blocklist start as 2.
  CHECK(load_le64(std::span(b.iso).subspan(img + 2548)) == 2);
  check_outside(b, {{0, 512}, {img + 2548, 8}});
  check_common_sector0(b);
  const auto hyb = vdisk::test::read_file("/usr/lib/grub/i386-pc/boot_hybrid.img");
  CHECK(std::equal(hyb.begin(), hyb.begin() + 432, b.disk.begin()));
  CHECK(load_le64(std::span(b.disk).subspan(0x1B0)) == img / 512 + 4);
  CHECK(load_le64(std::span(b.disk).subspan(img + 2548)) == img / 512 + 5);
  CHECK(u8(b.disk, 450) == 0x17);
  check_map(b);
  check_tools(b, s.t / "grub.img", "/boot/grub/grub.cfg");
  // The streaming form patches the image as it passes.
  auto st = hybrid_stream(stream_of(b.iso));
  REQUIRE(st.ok());
  Status err;
  CHECK(drain(**st, err, 1000) == b.disk);
  CHECK(err.ok());
}

TEST_CASE("livecd hybrid: a grub-mkrescue ISO already boots as a disk and is copied as is",
          "[livecd][hybrid]") {
  TempDir t;
  fs::create_directories(t / "r/boot/grub");
  vdisk::test::write_file(t / "r/boot/grub/grub.cfg", vdisk::test::bytes_of("echo x\n"));
  sh("grub-mkrescue -o " + q(t / "r.iso") + " " + q(t / "r"));
  auto f = open_file(t / "r.iso");
  REQUIRE(f.ok());
  auto plan = plan_hybrid(**f);
  REQUIRE(plan.ok());
  INFO(plan->summary);
  CHECK(plan->action == HybridAction::copy_as_is);
  CHECK(plan->bios_boots);
  CHECK(plan->uefi_boots);
  CHECK_THAT(plan->summary, Catch::Contains("already boots"));
  // The streaming form passes it through unchanged.
  {
    auto bytes = vdisk::test::read_file(t / "r.iso");
    auto st = hybrid_stream(stream_of(bytes));
    REQUIRE(st.ok());
    CHECK((*st)->plan().action == HybridAction::copy_as_is);
    Status err;
    CHECK(drain(**st, err) == bytes);
    CHECK(err.ok());
  }
  // hybrid_disk refuses a plan that is not "hybridize".
  auto src = open_image(t / "r.iso");
  REQUIRE(src.ok());
  auto view = hybrid_disk(std::shared_ptr<const BlockSource>(std::move(*src)), *plan, {});
  REQUIRE_FALSE(view.ok());
  CHECK(view.status().code() == Errc::invalid_argument);
}

TEST_CASE("livecd hybrid: xorriso isohybrid MBRs: BIOS-only is copied, with an EFI entry upgraded",
          "[livecd][hybrid]") {
  Sources s;
  if (!fs::exists(s.src / "efiboot.img")) fs::copy_file(s.t / "efi.img", s.src / "efiboot.img");
  const std::string common =
      "xorriso -as mkisofs -R -V HYB -isohybrid-mbr /usr/lib/ISOLINUX/isohdpfx.bin "
      "-b isolinux/isolinux.bin -c isolinux/boot.cat -no-emul-boot -boot-load-size 4 "
      "-boot-info-table ";
  // An isohybrid ISO whose only El Torito entry is BIOS boots as a disk already.
  sh(common + "-o " + q(s.t / "isoh.iso") + " " + q(s.src));
  auto f = open_file(s.t / "isoh.iso");
  REQUIRE(f.ok());
  auto plan = plan_hybrid(**f);
  REQUIRE(plan.ok());
  CHECK(plan->action == HybridAction::copy_as_is);
  CHECK(plan->bios_boots);
  CHECK(plan->report.isohybrid == iso9660::IsohybridKind::syslinux);

  // With an EFI entry but no EFI partition, sector 0 is regenerated (same loader) and a GPT ESP
  // added; the rest of the system area was zero.
  const fs::path iso = s.t / "isohe.iso";
  sh(common + "-eltorito-alt-boot -e efiboot.img -no-emul-boot -o " + q(iso) + " " + q(s.src));
  Built b = build(iso);
  CHECK(b.plan.bios_loader == BiosLoader::isolinux);
  CHECK(b.plan.write_gpt);
  // xorriso padded to a whole MiB already; the backup GPT needs one more.
  CHECK(b.iso.size() % kMiB == 0);
  CHECK(b.disk.size() == b.iso.size() + kMiB);
  check_outside(b, {{0, 34 * 512}, {b.disk.size() - 33 * 512, 33 * 512}});
  // The loader code and LBA are the ones xorriso wrote.
  CHECK(std::equal(b.iso.begin(), b.iso.begin() + 432, b.disk.begin()));
  CHECK(load_le64(std::span(b.disk).subspan(432)) == load_le64(std::span(b.iso).subspan(432)));
  vdisk::test::write_file(s.t / "isohe.img", b.disk);
  CHECK_THAT(out_of("sgdisk -v " + q(s.t / "isohe.img")), Catch::Contains("No problems found"));
}
