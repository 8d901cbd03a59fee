// The hybridiser (libvdisk/src/livecd/hybrid.h) against ISOs made at test time by xorriso
// (isolinux, isolinux + EFI, GRUB El Torito, grub-mkrescue) and hostile ISOs from the in-memory
// builder. Every byte of each view is checked: the ISO's outside the documented patches, sector
// 0 and the GPT as docs/livecd.md specifies them; sgdisk, xorriso and bsdtar read the result.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

#include "../iso9660/iso_builder.h"
#include "iso9660/boot_records.h"
#include "livecd/hybrid.h"
#include "raw/raw.h"
#include "test_support.h"
#include "util/endian.h"
#include "vdisk/image.h"

using namespace vdisk;
using namespace vdisk::livecd;
namespace fs = std::filesystem;
using vdisk::detail::load_le16;
using vdisk::detail::load_le32;
using vdisk::detail::load_le64;
using vdisk::test::TempDir;

namespace {

constexpr std::uint64_t kMiB = 1024 * 1024;

std::string q(const fs::path& p) { return "'" + p.string() + "'"; }

void sh(const std::string& cmd) {
  INFO(cmd);
  REQUIRE(vdisk::test::run(cmd + " >/dev/null 2>&1") == 0);
}

std::string out_of(const std::string& cmd) {
  std::string out;
  INFO(cmd);
  REQUIRE(vdisk::test::run(cmd + " 2>&1", &out) == 0);
  return out;
}

std::uint8_t u8(const std::vector<std::byte>& b, std::size_t i) {
  return std::to_integer<std::uint8_t>(b[i]);
}

// The image offset of the file at `path` inside the ISO, found by the ISO 9660 reader.
std::uint64_t file_offset(const fs::path& iso, const std::string& path) {
  auto v = iso9660::open_volume(iso);
  REQUIRE(v.ok());
  auto e = (*v)->lookup(path);
  REQUIRE(e.ok());
  REQUIRE(!e->extents.empty());
  return e->extents[0].offset;
}

struct Sources {
  TempDir t;
  fs::path src = t / "src";
  Sources() {
    fs::create_directories(src / "isolinux");
    fs::create_directories(src / "LiveOS");
    fs::copy_file("/usr/lib/ISOLINUX/isolinux.bin", src / "isolinux/isolinux.bin");
    vdisk::test::write_file(src / "isolinux/isolinux.cfg",
                            vdisk::test::bytes_of("default linux\nlabel linux\n  kernel vmlinuz0\n"
                                                  "  append root=live:CDLABEL=HYB\n"));
    vdisk::test::write_file(src / "LiveOS/data.bin", vdisk::test::pattern(300000, 7));
    sh("mkfs.vfat -C " + q(t / "efi.img") + " 2880");
    sh("mmd -i " + q(t / "efi.img") + " ::EFI ::EFI/BOOT");
    vdisk::test::write_file(t / "BOOTX64.EFI", vdisk::test::pattern(5000, 9));
    sh("mcopy -i " + q(t / "efi.img") + " " + q(t / "BOOTX64.EFI") + " ::EFI/BOOT/");
  }
  fs::path isolinux_iso(bool efi) {
    const fs::path iso = t / (efi ? "efi.iso" : "bios.iso");
    if (efi && !fs::exists(src / "efiboot.img")) fs::copy_file(t / "efi.img", src / "efiboot.img");
    sh("xorriso -as mkisofs -R -J -V HYB -b isolinux/isolinux.bin -c isolinux/boot.cat "
       "-no-emul-boot -boot-load-size 4 -boot-info-table " +
       std::string(efi ? "-eltorito-alt-boot -e efiboot.img -no-emul-boot " : "") + "-o " + q(iso) +
       " " + q(src));
    return iso;
  }
  fs::path grub_iso() {
    const fs::path g = t / "gsrc";
    fs::create_directories(g / "boot/grub");
    sh("grub-mkimage -O i386-pc-eltorito -p /boot/grub -o " + q(g / "boot/grub/eltorito.img") +
       " biosdisk iso9660 normal echo");
    vdisk::test::write_file(g / "boot/grub/grub.cfg", vdisk::test::bytes_of("echo hybrid\n"));
    vdisk::test::write_file(g / "data.bin", vdisk::test::pattern(100000, 3));
    const fs::path iso = t / "grub.iso";
    sh("xorriso -as mkisofs -R -V GRUBHYB -b boot/grub/eltorito.img -c boot/boot.cat "
       "-no-emul-boot -boot-load-size 4 -boot-info-table -o " +
       q(iso) + " " + q(g));
    return iso;
  }
};

struct Built {
  HybridPlan plan;
  std::vector<std::byte> iso, disk;
  std::vector<Extent> map;
  BootCode code;
};

Built build(const fs::path& iso_path) {
  auto src = open_image(iso_path);
  REQUIRE(src.ok());
  std::shared_ptr<const BlockSource> iso(std::move(*src));
  auto plan = plan_hybrid(*iso);
  REQUIRE(plan.ok());
  INFO(plan->summary);
  REQUIRE(plan->action == HybridAction::hybridize);
  auto code = load_boot_code(*plan);
  REQUIRE(code.ok());
  auto view = hybrid_disk(iso, *plan, *code);
  REQUIRE(view.ok());
  Built b{*plan, vdisk::test::read_file(iso_path), vdisk::test::read_disk(**view),
          vdisk::test::map_disk(**view), *code};
  return b;
}

// Checks every byte: the ISO's bytes outside `patched` (ranges of the disk), zero past the ISO
// outside `patched`; returns nothing, fails the test on the first difference.
void check_outside(const Built& b,
                   const std::vector<std::pair<std::uint64_t, std::uint64_t>>& patched) {
  REQUIRE(b.disk.size() >= b.iso.size());
  auto is_patched = [&](std::uint64_t i) {
    return std::any_of(patched.begin(), patched.end(),
                       [&](const auto& r) { return i >= r.first && i < r.first + r.second; });
  };
  std::uint64_t bad = b.disk.size();
  for (std::uint64_t i = 0; i < b.disk.size(); ++i) {
    if (is_patched(i)) continue;
    const std::byte want = i < b.iso.size() ? b.iso[i] : std::byte{0};
    if (b.disk[i] != want) {
      bad = i;
      break;
    }
  }
  CHECK(bad == b.disk.size());
}

void check_map(const Built& b) {
  std::uint64_t pos = 0;
  for (const Extent& e : b.map) {
    CHECK(e.offset == pos);
    pos = e.end();
    if (e.reads_as_zero())
      CHECK(std::all_of(b.disk.begin() + static_cast<std::ptrdiff_t>(e.offset),
                        b.disk.begin() + static_cast<std::ptrdiff_t>(e.end()),
                        [](std::byte x) { return x == std::byte{0}; }));
  }
  CHECK(pos == b.disk.size());
  // Sector 0 and the last sector are data.
  CHECK(b.map.front().kind == ExtentKind::data);
}

// Tools that read the disk written to a file: the ISO file system is still there.
void check_tools(const Built& b, const fs::path& out, const std::string& some_file) {
  vdisk::test::write_file(out, b.disk);
  const std::string x = out_of("xorriso -indev " + q(out) + " -find / -type f");
  CHECK_THAT(x, Catch::Contains(some_file));
  const std::string t = out_of("bsdtar -tf " + q(out));
  CHECK_THAT(t, Catch::Contains(some_file.substr(1)));
}

void check_gpt(const Built& b, const fs::path& out, std::uint64_t efi_offset,
               std::uint64_t efi_bytes) {
  const std::string v = out_of("sgdisk -v " + q(out));
  CHECK_THAT(v, Catch::Contains("No problems found"));
  const std::string i = out_of("sgdisk -i 1 " + q(out));
  CHECK_THAT(i, Catch::Contains("C12A7328-F81F-11D2-BA4B-00A0C93EC93B"));
  CHECK_THAT(i, Catch::Contains(fmt::format("First sector: {} ", efi_offset / 512)));
  CHECK_THAT(i,
             Catch::Contains(fmt::format("Last sector: {} ", (efi_offset + efi_bytes) / 512 - 1)));
  // pMBR: one 0xEE entry from LBA 1 over the disk, no boot flag.
  CHECK(u8(b.disk, 446) == 0x00);
  CHECK(u8(b.disk, 450) == 0xEE);
  CHECK(load_le32(std::span(b.disk).subspan(454)) == 1);
  CHECK(load_le32(std::span(b.disk).subspan(458)) == b.disk.size() / 512 - 1);
  for (std::size_t k = 462; k < 510; ++k) CHECK(u8(b.disk, k) == 0);
  // The backup header at the last LBA points back at LBA 1.
  const auto last = std::span(b.disk).subspan(b.disk.size() - 512, 512);
  CHECK(std::memcmp(last.data(), "EFI PART", 8) == 0);
  CHECK(load_le64(last.subspan(24)) == b.disk.size() / 512 - 1);
  CHECK(load_le64(last.subspan(32)) == 1);
}

void check_common_sector0(const Built& b) {
  CHECK(u8(b.disk, 510) == 0x55);
  CHECK(u8(b.disk, 511) == 0xAA);
  CHECK(load_le32(std::span(b.disk).subspan(440)) == b.plan.disk_signature);
  CHECK(b.plan.disk_signature != 0);
  CHECK(u8(b.disk, 444) == 0);
  CHECK(u8(b.disk, 445) == 0);
  CHECK(b.disk.size() % kMiB == 0);
}

std::unique_ptr<StreamSource> stream_of(std::vector<std::byte> bytes) {
  return raw::open_stream(memory_stream(std::move(bytes)));
}

// Drains a stream with next() (zero runs expanded) into bytes; the error, if any, in `error`.
std::vector<std::byte> drain(StreamSource& s, Status& error, std::size_t chunk = 100000) {
  std::vector<std::byte> out, buf(chunk);
  for (;;) {
    auto run = s.next(buf);
    if (!run.ok()) {
      error = run.status();
      return out;
    }
    if (run->kind == StreamRun::Kind::end) return out;
    if (run->kind == StreamRun::Kind::zero)
      out.insert(out.end(), static_cast<std::size_t>(run->length), std::byte{0});
    else
      out.insert(out.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(run->length));
  }
}

}  // namespace

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

// ---- Hostile ISOs from the in-memory builder --------------------------------------------------

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
