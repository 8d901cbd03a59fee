// The hybridiser against hostile ISOs from the in-memory builder (tests/iso9660/iso_builder.h):
// catalogs past the end, boot info tables that lie, wrong load counts, missing signatures, EFI
// images larger than the ISO or without a file record, non-empty system areas: reasons in the
// plan, never a crash. Also the boot-code loader's errors.
#include <catch2/catch.hpp>

#include "../iso9660/iso_builder.h"
#include "hybrid_test_util.h"

using namespace vdisk;
using namespace vdisk::livecd;
using namespace vdisk::test::hybrid;

namespace {

namespace iso = vdisk::test::iso;

// An ISO of 96 blocks: boot record at 17, terminator 18, catalog at 19, root at 20, isolinux.bin
// (the real one, 19 blocks) at 24, an EFI FAT image at 50 (file record "EFI.IMG").
struct Hostile {
  iso::Builder b{96};
  std::uint32_t catalog = 19;
  std::uint16_t bios_count = 4;
  std::uint32_t efi_length = 0;  // file record length; 0 = no EFI entry
  std::uint16_t efi_count = 0;
  bool efi_record = true;
  std::vector<std::byte> isolinux = vdisk::test::read_file("/usr/lib/ISOLINUX/isolinux.bin");

  void put32(std::uint64_t at, std::uint32_t v) {
    std::array<std::byte, 4> x{};
    vdisk::detail::store_le32(x, v);
    b.put(at, x);
  }
  void put16(std::uint64_t at, std::uint16_t v) {
    std::array<std::byte, 2> x{};
    vdisk::detail::store_le16(x, v);
    b.put(at, x);
  }
  // The boot info table as mkisofs writes it, for the image at block 24.
  void info_table() {
    vdisk::detail::store_le32(std::span(isolinux).subspan(8), 16);
    vdisk::detail::store_le32(std::span(isolinux).subspan(12), 24);
    vdisk::detail::store_le32(std::span(isolinux).subspan(16),
                              static_cast<std::uint32_t>(isolinux.size()));
    std::uint32_t sum = 0;
    for (std::size_t i = 64; i + 4 <= isolinux.size(); i += 4)
      sum += load_le32(std::span(isolinux).subspan(i));
    vdisk::detail::store_le32(std::span(isolinux).subspan(20), sum);
  }
  std::vector<std::byte> image(const std::vector<std::byte>& fat = {}) {
    // Boot record and terminator.
    std::vector<std::byte> br(2048);
    br[0] = std::byte{0};
    std::memcpy(br.data() + 1, "CD001", 5);
    br[6] = std::byte{1};
    std::memcpy(br.data() + 7, "EL TORITO SPECIFICATION", 23);
    vdisk::detail::store_le32(std::span(br).subspan(0x47), catalog);
    b.put(17 * 2048, br);
    std::vector<std::byte> term(2048);
    term[0] = std::byte{255};
    std::memcpy(term.data() + 1, "CD001", 5);
    term[6] = std::byte{1};
    b.put(18 * 2048, term);
    // Catalog: validation entry, default entry, optionally a final UEFI section.
    std::vector<std::byte> cat(2048);
    cat[0] = std::byte{1};
    cat[30] = std::byte{0x55};
    cat[31] = std::byte{0xAA};
    std::uint16_t sum = 0;
    for (std::size_t i = 0; i < 32; i += 2)
      sum = static_cast<std::uint16_t>(sum + load_le16(std::span(cat).subspan(i)));
    vdisk::detail::store_le16(std::span(cat).subspan(28),
                              static_cast<std::uint16_t>(0x10000 - sum));
    cat[32] = std::byte{0x88};
    vdisk::detail::store_le16(std::span(cat).subspan(38), bios_count);
    vdisk::detail::store_le32(std::span(cat).subspan(40), 24);
    if (efi_length != 0 || efi_count != 0) {
      cat[64] = std::byte{0x91};
      cat[65] = std::byte{0xEF};
      vdisk::detail::store_le16(std::span(cat).subspan(66), 1);
      cat[96] = std::byte{0x88};
      vdisk::detail::store_le16(std::span(cat).subspan(102), efi_count);
      vdisk::detail::store_le32(std::span(cat).subspan(104), 50);
    }
    b.put(19 * 2048, cat);
    b.root(20, 2048);
    if (efi_record && efi_length != 0)
      b.directory(
          20,
          {iso::dot(20, 2048), iso::dotdot(20, 2048), iso::record("EFI.IMG;1", 50, efi_length, 0),
           iso::record("ISOLINUX.BIN;1", 24, static_cast<std::uint32_t>(isolinux.size()), 0)});
    else
      b.directory(
          20, {iso::dot(20, 2048), iso::dotdot(20, 2048),
               iso::record("ISOLINUX.BIN;1", 24, static_cast<std::uint32_t>(isolinux.size()), 0)});
    b.put(24 * 2048, isolinux);
    if (!fat.empty()) b.put(50 * 2048, fat);
    return b.image();
  }
};

HybridPlan plan_of(std::vector<std::byte> bytes) {
  auto f = memory_file(std::move(bytes));
  auto p = plan_hybrid(*f);
  REQUIRE(p.ok());
  return std::move(*p);
}

}  // namespace

TEST_CASE("livecd hybrid: hostile El Torito structures give reasons, not crashes",
          "[livecd][hybrid][hostile]") {
  SECTION("a valid isolinux image hybridises") {
    Hostile h;
    h.info_table();
    const HybridPlan p = plan_of(h.image());
    INFO(p.summary);
    CHECK(p.action == HybridAction::hybridize);
    CHECK(p.bios_loader == BiosLoader::isolinux);
  }
  SECTION("catalog past the end") {
    Hostile h;
    h.info_table();
    h.catalog = 5000;
    const HybridPlan p = plan_of(h.image());
    CHECK(p.action == HybridAction::impossible);
    CHECK_THAT(p.refusal, Catch::Contains("boot catalog") && Catch::Contains("outside"));
  }
  SECTION("a boot info table that names another block") {
    Hostile h;
    h.info_table();
    vdisk::detail::store_le32(std::span(h.isolinux).subspan(12), 25);
    const HybridPlan p = plan_of(h.image());
    CHECK(p.action == HybridAction::impossible);
    CHECK_THAT(p.bios_reason, Catch::Contains("names the image at block 25"));
  }
  SECTION("a boot info table whose checksum is wrong") {
    Hostile h;
    h.info_table();
    h.isolinux[20] ^= std::byte{1};
    const HybridPlan p = plan_of(h.image());
    CHECK(p.action == HybridAction::impossible);
    CHECK_THAT(p.bios_reason, Catch::Contains("checksum"));
  }
  SECTION("a boot info table length past the ISO") {
    Hostile h;
    h.info_table();
    vdisk::detail::store_le32(std::span(h.isolinux).subspan(16), 900000);
    const HybridPlan p = plan_of(h.image());
    CHECK(p.action == HybridAction::impossible);
    CHECK_THAT(p.bios_reason, Catch::Contains("past the end"));
  }
  SECTION("load count not 4") {
    Hostile h;
    h.info_table();
    h.bios_count = 8;
    const HybridPlan p = plan_of(h.image());
    CHECK(p.action == HybridAction::impossible);
    CHECK_THAT(p.bios_reason, Catch::Contains("load count is 8"));
  }
  SECTION("missing hybrid signature") {
    Hostile h;
    h.info_table();
    h.isolinux[0x40] = std::byte{0};
    const HybridPlan p = plan_of(h.image());
    CHECK(p.action == HybridAction::impossible);
    CHECK(p.report.bios_image == iso9660::BootImageKind::isolinux_no_signature);
    CHECK_THAT(p.bios_reason, Catch::Contains("no hybrid signature"));
  }
  SECTION("an EFI image larger than the ISO (catalog count): BIOS only") {
    Hostile h;
    h.info_table();
    h.efi_length = 4096;
    h.efi_record = false;
    h.efi_count = 65535;
    const HybridPlan p = plan_of(h.image());
    CHECK(p.action == HybridAction::hybridize);
    CHECK_FALSE(p.write_gpt);
    CHECK_THAT(p.uefi_reason, Catch::Contains("does not lie inside"));
  }
  SECTION("an EFI file record larger than the ISO: BIOS only") {
    Hostile h;
    h.info_table();
    h.efi_length = 200u << 20;
    const HybridPlan p = plan_of(h.image());
    CHECK(p.action == HybridAction::hybridize);
    CHECK_FALSE(p.write_gpt);
    CHECK_THAT(p.uefi_reason, Catch::Contains("lies outside the volume"));
  }
  SECTION("an EFI entry without a file record and count 0") {
    Hostile h;
    h.info_table();
    h.efi_length = 4096;
    h.efi_record = false;
    const HybridPlan p = plan_of(h.image());
    CHECK(p.action == HybridAction::hybridize);
    CHECK(p.efi.size_from_catalog);
    CHECK_THAT(p.uefi_reason, Catch::Contains("size is unknown"));
  }
  SECTION("an EFI image that is no FAT") {
    Hostile h;
    h.info_table();
    h.efi_length = 8192;
    const HybridPlan p = plan_of(h.image());
    CHECK_FALSE(p.write_gpt);
    CHECK_THAT(p.uefi_reason, Catch::Contains("no FAT"));
  }
  SECTION("a system area that holds data is not overwritten") {
    Hostile h;
    h.info_table();
    auto img = h.image();
    img[4096] = std::byte{1};
    const HybridPlan p = plan_of(img);
    CHECK(p.action == HybridAction::impossible);
    CHECK_THAT(p.refusal, Catch::Contains("system area"));
  }
  SECTION("a truncated ISO") {
    Hostile h;
    h.info_table();
    auto img = h.image();
    img.resize(img.size() - 2048);
    const HybridPlan p = plan_of(img);
    CHECK(p.action == HybridAction::impossible);
    CHECK_THAT(p.refusal, Catch::Contains("truncated"));
  }
  SECTION("not an ISO at all") {
    const HybridPlan p = plan_of(std::vector<std::byte>(40000));
    CHECK(p.action == HybridAction::impossible);
    CHECK_THAT(p.refusal, Catch::Contains("ISO 9660"));
  }
}

TEST_CASE("livecd hybrid: EFI image sized from the catalog when no file record points there",
          "[livecd][hybrid]") {
  TempDir t;
  sh("mkfs.vfat -C " + q(t / "efi.img") + " 720");
  sh("mmd -i " + q(t / "efi.img") + " ::EFI ::EFI/BOOT");
  vdisk::test::write_file(t / "BOOTX64.EFI", vdisk::test::pattern(1000, 1));
  sh("mcopy -i " + q(t / "efi.img") + " " + q(t / "BOOTX64.EFI") + " ::EFI/BOOT/");
  const auto fat = vdisk::test::read_file(t / "efi.img");  // 720 KiB = 1440 sectors
  Hostile h;
  h.b = iso::Builder(50 + static_cast<std::uint32_t>(fat.size() / 2048) + 8);
  h.info_table();
  h.efi_length = static_cast<std::uint32_t>(fat.size());
  h.efi_record = false;
  h.efi_count = static_cast<std::uint16_t>(fat.size() / 512);
  auto img = h.image(fat);
  const HybridPlan p = plan_of(img);
  INFO(p.summary);
  REQUIRE(p.action == HybridAction::hybridize);
  CHECK(p.write_gpt);
  CHECK(p.efi.size_from_catalog);
  CHECK(p.efi.bytes == fat.size());
  CHECK_THAT(p.uefi_reason, Catch::Contains("size from the catalog count"));

  // The view over it: patches exactly where documented, the rest the ISO's.
  auto src = vdisk::test::open_memory(img);
  REQUIRE(src);
  BootCode code;
  code.isohdpfx = vdisk::test::read_file("/usr/lib/ISOLINUX/isohdpfx.bin");
  auto view = hybrid_disk(std::shared_ptr<const BlockSource>(std::move(src)), p, code);
  REQUIRE(view.ok());
  Built b{p, img, vdisk::test::read_disk(**view), vdisk::test::map_disk(**view), code};
  check_outside(b, {{0, 34 * 512}, {b.disk.size() - 33 * 512, 33 * 512}});
  check_map(b);
  vdisk::test::write_file(t / "v.img", b.disk);
  CHECK_THAT(out_of("sgdisk -v " + q(t / "v.img")), Catch::Contains("No problems found"));

  // Wrong inputs to hybrid_disk are refused.
  BootCode empty;
  auto src2 = vdisk::test::open_memory(img);
  auto bad = hybrid_disk(std::shared_ptr<const BlockSource>(std::move(src2)), p, empty);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().code() == Errc::invalid_argument);
  HybridPlan other = p;
  other.iso_size += 2048;
  auto src3 = vdisk::test::open_memory(img);
  auto bad2 = hybrid_disk(std::shared_ptr<const BlockSource>(std::move(src3)), other, code);
  REQUIRE_FALSE(bad2.ok());
}

TEST_CASE("livecd hybrid: boot code files are read from the given paths", "[livecd][hybrid]") {
  HybridPlan p;
  p.action = HybridAction::hybridize;
  p.bios_loader = BiosLoader::grub;
  BootCodePaths paths;
  paths.grub_hybrid = "/nonexistent/boot_hybrid.img";
  auto c = load_boot_code(p, paths);
  REQUIRE_FALSE(c.ok());
  CHECK(c.status().code() == Errc::not_found);
  CHECK_THAT(c.status().message(), Catch::Contains("grub-pc-bin"));
  p.bios_loader = BiosLoader::isolinux;
  paths.isohdpfx = "/nonexistent/isohdpfx.bin";
  c = load_boot_code(p, paths);
  REQUIRE_FALSE(c.ok());
  CHECK_THAT(c.status().message(), Catch::Contains("isolinux"));
  // A file of the wrong size.
  paths.isohdpfx = "/usr/lib/ISOLINUX/isolinux.bin";
  c = load_boot_code(p, paths);
  REQUIRE_FALSE(c.ok());
  CHECK(c.status().code() == Errc::invalid_argument);
  // The defaults exist on the test machine.
  CHECK(load_boot_code(p).ok());
}
