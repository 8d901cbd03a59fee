// The GRUB repack (formats/iso9660/livecd/repack.h) with real GRUB images from grub-mkimage
// (tools/vdconvert/grub_images.h): GPT checked with sgdisk and sfdisk, the ESP with fsck.fat
// and mtools, p3 against the ISO, the MBR and core fields, the map, determinism, and hostile
// images and ISOs. The boot itself is boot.livecd_repack (repack_boot.sh).
#include <catch2/catch.hpp>

#include <array>
#include <cctype>
#include <cstring>
#include <random>
#include <string>

#include "gpt/gpt_codec.h"
#include "grub_test_util.h"
#include "formats/iso9660/boot_records.h"
#include "formats/iso9660/livecd/repack.h"
#include "test_support.h"
#include "base/endian.h"

using namespace vdisk;
using namespace vdisk::livecd;
using vdisk::test::TempDir;

namespace {

using vdisk::test::grub;
using vdisk::test::images_of;

BootEntry entry() {
  BootEntry e;
  e.label = "Live";
  e.kernel = "/boot/vmlinuz";
  e.initrds = {"/boot/initrd.gz"};
  e.append = "console=ttyS0 quiet";
  return e;
}

std::string sh(const std::string& cmd) {
  std::string out;
  INFO(cmd);
  REQUIRE(vdisk::test::run(cmd, &out) == 0);
  return out;
}

// A real ISO from xorriso (label REPACKTEST), with a kernel-sized file.
std::vector<std::byte> xorriso_iso(const TempDir& dir) {
  std::filesystem::create_directories(dir / "tree/boot");
  vdisk::test::write_file(dir / "tree/boot/vmlinuz", vdisk::test::pattern(300000, 1));
  vdisk::test::write_file(dir / "tree/boot/initrd.gz", vdisk::test::pattern(100000, 2));
  sh("xorriso -as mkisofs -quiet -R -V REPACKTEST -o '" + (dir / "in.iso").string() + "' '" +
     (dir / "tree").string() + "' 2>&1");
  return vdisk::test::read_file(dir / "in.iso");
}

// A minimal ISO: zeros, and a primary volume descriptor at 32 KiB.
std::vector<std::byte> synthetic_iso(std::uint32_t blocks, std::string_view volid = "SYNTH",
                                     std::string_view created = "2024022013451000") {
  std::array<std::byte, 2048> pvd{};
  const std::span<std::byte> p(pvd);
  p[0] = std::byte{1};
  std::memcpy(p.data() + 1, "CD001", 5);
  p[6] = std::byte{1};
  std::memset(p.data() + 40, ' ', 32);
  std::memcpy(p.data() + 40, volid.data(), volid.size());
  detail::store_le32(p.subspan(80), blocks);
  detail::store_be32(p.subspan(84), blocks);
  detail::store_le16(p.subspan(128), 2048);
  detail::store_be16(p.subspan(130), 2048);
  std::memcpy(p.data() + 813, created.data(), created.size());
  p[813 + 16] = std::byte{4};  // GMT+1
  std::vector<std::byte> iso(std::max<std::size_t>(std::size_t{blocks} * 2048, 34816));
  std::copy(pvd.begin(), pvd.end(), iso.begin() + 32768);
  iso[iso.size() - 1] = std::byte{0x5A};
  return iso;
}

std::unique_ptr<RepackSource> repack(const BlockSource& iso, const RepackOptions& o = {}) {
  auto r = make_repack(iso, entry(), images_of(grub()), o);
  REQUIRE(r.ok());
  return std::move(r).value();
}

}  // namespace

TEST_CASE("repack: grub-mkimage images are recognised, deterministic, and leave no temporary",
          "[livecd][repack][grub]") {
  const auto& g = grub();
  CHECK(g.boot_image.size() == 512);
  CHECK(g.core_image.size() > 1024);
  CHECK(g.efi_image.size() > 1024);
  TempDir tmp;
  vdconvert::GrubImageOptions o;
  o.temp_parent = tmp.path();
  auto again = vdconvert::build_grub_images(o);
  REQUIRE(again.ok());
  CHECK(again->core_image == g.core_image);
  CHECK(again->efi_image == g.efi_image);
  CHECK(std::filesystem::is_empty(tmp.path()));

  o.mkimage = "/nonexistent/grub-mkimage";
  auto missing = vdconvert::build_grub_images(o);
  CHECK(missing.status().code() == Errc::not_found);
  CHECK_THAT(missing.status().message(),
             Catch::Contains("/nonexistent/grub-mkimage (package grub-common)"));
  o = {};
  o.lib_dir = tmp.path();
  missing = vdconvert::build_grub_images(o);
  CHECK_THAT(missing.status().message(), Catch::Contains("i386-pc/boot.img (package grub-pc-bin)"));
  CHECK_THAT(missing.status().message(),
             Catch::Contains("x86_64-efi/kernel.img (package grub-efi-amd64-bin)"));
  o = {};
  o.mkimage = "false";
  o.temp_parent = tmp.path();
  auto failed = vdconvert::build_grub_images(o);
  CHECK(failed.status().code() == Errc::io_error);
  CHECK_THAT(failed.status().message(), Catch::Contains("exit status 1"));
  o.mkimage = "true";  // succeeds and writes nothing
  failed = vdconvert::build_grub_images(o);
  CHECK(failed.status().code() == Errc::io_error);
  CHECK_THAT(failed.status().message(), Catch::Contains("succeeded but wrote no"));
  CHECK(std::filesystem::is_empty(tmp.path()));
}

TEST_CASE("repack: the disk passes sgdisk, sfdisk, fsck.fat and mtools, p3 is the ISO",
          "[livecd][repack]") {
  TempDir dir;
  const auto iso_bytes = xorriso_iso(dir);
  const vdisk::test::MemorySource iso(iso_bytes);
  const auto disk = repack(iso);
  const RepackLayout& l = disk->layout();
  CHECK(l.size % (1u << 20) == 0);
  CHECK(l.iso_volume_id == "REPACKTEST");
  // p1, p3 (the ISO) and p2 (the ESP, after the ISO so a stream can be written in order).
  CHECK(l.iso_first_lba == 4096);
  CHECK(l.iso_last_lba - l.iso_first_lba + 1 == iso_bytes.size() / 512);
  CHECK(l.esp_first_lba % 2048 == 0);
  CHECK(l.esp_first_lba > l.iso_last_lba);
  CHECK(l.esp_first_lba - l.iso_last_lba <= 2048);
  CHECK(l.size / 512 - 1 - 32 - l.esp_last_lba < 2048 + 33);  // the least whole MiB

  const auto bytes = vdisk::test::read_disk(*disk);
  const auto img = dir / "disk.raw";
  vdisk::test::write_file(img, bytes);

  CHECK_THAT(sh("sgdisk -v '" + img.string() + "' 2>&1"), Catch::Contains("No problems found"));
  // sfdisk's JSON with the blanks removed, so the checks do not depend on its layout.
  std::string json;
  for (char c : sh("sfdisk --json '" + img.string() + "'")) {
    if (c != ' ' && c != '\n') json += c;
  }
  CHECK_THAT(json, Catch::Contains("\"label\":\"gpt\""));
  CHECK_THAT(json, Catch::Contains("\"start\":2048,\"size\":2048,\"type\":"
                                   "\"21686148-6449-6E6F-744E-656564454649\""));
  CHECK_THAT(json, Catch::Contains("\"start\":" + std::to_string(l.esp_first_lba) + ",\"size\":" +
                                   std::to_string(l.esp_last_lba - l.esp_first_lba + 1) +
                                   ",\"type\":\"C12A7328-F81F-11D2-BA4B-00A0C93EC93B\""));
  // p3 runs up to the ESP: the ISO, then zeros to the MiB.
  CHECK_THAT(json, Catch::Contains("\"start\":" + std::to_string(l.iso_first_lba) +
                                   ",\"size\":" + std::to_string(l.esp_first_lba - 4096) +
                                   ",\"type\":\"0FC63DAF-8483-4772-8E79-3D69D8477DE4\""));
  CHECK_THAT(json, Catch::Contains("\"name\":\"ISO9660\""));
  // p3's PARTUUID as sfdisk reads it (upper case) is the one the layout and
  // repack_iso_partuuid() give before building.
  std::string upper = l.iso_partuuid;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  CHECK_THAT(json, Catch::Contains("\"uuid\":\"" + upper + "\",\"name\":\"ISO9660\""));
  auto partuuid = repack_iso_partuuid(iso);
  REQUIRE(partuuid.ok());
  CHECK(*partuuid == l.iso_partuuid);
  CHECK(l.iso_partuuid.size() == 36);

  // p3 is the ISO byte for byte; the ISO's volume is found there by blkid as well.
  REQUIRE(bytes.size() >= l.iso_first_lba * 512 + iso_bytes.size());
  CHECK(std::memcmp(bytes.data() + l.iso_first_lba * 512, iso_bytes.data(), iso_bytes.size()) == 0);
  sh("dd if='" + img.string() + "' of='" + (dir / "p3.iso").string() +
     "' bs=512 skip=" + std::to_string(l.iso_first_lba) +
     " count=" + std::to_string(iso_bytes.size() / 512) + " status=none");
  CHECK_THAT(sh("blkid -p -o value -s LABEL '" + (dir / "p3.iso").string() + "'"),
             Catch::Contains("REPACKTEST"));

  // The ESP.
  const auto esp = dir / "esp.img";
  sh("dd if='" + img.string() + "' of='" + esp.string() +
     "' bs=512 skip=" + std::to_string(l.esp_first_lba) +
     " count=" + std::to_string(l.esp_last_lba - l.esp_first_lba + 1) + " status=none");
  const std::string fsck = sh("fsck.fat -n -v '" + esp.string() + "' 2>&1");
  CHECK_THAT(fsck, Catch::Contains("32 bit entries"));
  CHECK_THAT(fsck, Catch::Contains(std::to_string(l.esp_first_lba) + " hidden sectors"));
  CHECK(sh("mtype -i '" + esp.string() + "' ::/EFI/BOOT/GRUB.CFG") == l.grub_cfg);
  CHECK_THAT(l.grub_cfg, Catch::Contains("--label REPACKTEST"));
  sh("mcopy -n -i '" + esp.string() + "' ::/EFI/BOOT/BOOTX64.EFI '" + (dir / "x.efi").string() +
     "'");
  CHECK(vdisk::test::read_file(dir / "x.efi") == grub().efi_image);

  // libvdisk's own ESP reader (the boot report's) finds the loader in p2 as well.
  const auto disk_file = vdisk::memory_view_file(bytes);
  CHECK(iso9660::detail::find_efi_loader(*disk_file, l.esp_first_lba * 512,
                                         (l.esp_last_lba - l.esp_first_lba + 1) * 512) ==
        "\\EFI\\BOOT\\BOOTX64.EFI");

  // The protective MBR: GRUB's code with kernel_sector and the drive check patched.
  const auto& boot = grub().boot_image;
  for (std::size_t i = 0; i < 440; ++i) {
    if ((i >= 0x5C && i < 0x64) || i == 0x66 || i == 0x67) continue;
    INFO(i);
    REQUIRE(bytes[i] == boot[i]);
  }
  const std::span<const std::byte> d(bytes);
  CHECK(detail::load_le64(d.subspan(0x5C)) == 2048);
  CHECK(bytes[0x66] == std::byte{0x90});
  CHECK(bytes[0x67] == std::byte{0x90});
  CHECK(detail::load_le32(d.subspan(440)) == 0);
  CHECK(bytes[446] == std::byte{0});
  CHECK(bytes[446 + 4] == std::byte{0xEE});
  CHECK(detail::load_le32(d.subspan(446 + 8)) == 1);
  CHECK(detail::load_le32(d.subspan(446 + 12)) == l.size / 512 - 1);
  for (std::size_t i = 462; i < 510; ++i) REQUIRE(bytes[i] == std::byte{0});
  CHECK(bytes[510] == std::byte{0x55});
  CHECK(bytes[511] == std::byte{0xAA});

  // The core in p1 with its blocklist pointing after its first sector; the rest unchanged.
  const auto& core = grub().core_image;
  const auto p1 = d.subspan(2048 * 512, core.size());
  CHECK(detail::load_le64(p1.subspan(0x1F4)) == 2049);
  CHECK(detail::load_le16(p1.subspan(0x1FC)) == l.core_sectors - 1);
  CHECK(detail::load_le16(p1.subspan(0x1FE)) == 0x0820);
  CHECK(std::memcmp(p1.data(), core.data(), 0x1F4) == 0);
  CHECK(std::memcmp(p1.data() + 0x1FC, core.data() + 0x1FC, core.size() - 0x1FC) == 0);

  // The GPT as the library's own decoder reads it (both copies).
  auto h = gpt::decode_header(d.subspan(512, 512), 1, 512, l.size / 512);
  REQUIRE(h.ok());
  CHECK(h->disk_guid == l.disk_guid);
  CHECK((h->disk_guid[7] & 0xF0) == 0x80);  // version 8
  CHECK((h->disk_guid[8] & 0xC0) == 0x80);
  auto entries = gpt::decode_entries(d.subspan(1024, 16384), *h, 1024);
  REQUIRE(entries.ok());
  REQUIRE(entries->size() == 3);
  CHECK((*entries)[2].first_lba == l.iso_first_lba);
  const std::uint64_t last = l.size / 512 - 1;
  auto b = gpt::decode_header(d.subspan(last * 512, 512), last, 512, l.size / 512);
  REQUIRE(b.ok());
  CHECK(b->entries_crc == h->entries_crc);
}

TEST_CASE("repack: the map is the ISO's inside p3 and the generated pieces elsewhere",
          "[livecd][repack]") {
  auto iso_bytes = synthetic_iso(4096);  // 8 MiB
  // The ISO reports a hole in its middle; the repack must pass it on.
  const std::vector<Extent> iso_map = {{0, 4u << 20, ExtentKind::data},
                                       {4u << 20, 2u << 20, ExtentKind::unallocated},
                                       {6u << 20, 2u << 20, ExtentKind::data}};
  const vdisk::test::MemorySource iso(iso_bytes, iso_map);
  const auto disk = repack(iso);
  const RepackLayout& l = disk->layout();
  const std::uint64_t p3 = l.iso_first_lba * 512;
  const auto map = vdisk::test::map_disk(*disk);
  std::uint64_t pos = 0, generated = 0;
  bool hole_seen = false;
  const std::uint64_t p3_end = p3 + iso_bytes.size();
  for (const auto& e : map) {
    REQUIRE(e.offset == pos);
    pos = e.end();
    if (e.offset == p3 + (4u << 20))
      hole_seen = e.kind == ExtentKind::unallocated && e.length == (2u << 20);
    // Data outside p3's ISO bytes (an extent may run on from the ISO into the ESP).
    if (!e.reads_as_zero()) {
      const std::uint64_t inside = e.end() <= p3 || e.offset >= p3_end
                                       ? 0
                                       : std::min(e.end(), p3_end) - std::max(e.offset, p3);
      generated += e.length - inside;
    }
  }
  CHECK(pos == l.size);
  CHECK(hole_seen);
  // MBR, GPT copies, core, and the ESP's used sectors: about the images' size.
  CHECK(generated < grub().core_image.size() + grub().efi_image.size() + 600000);
  CHECK(generated > grub().core_image.size() + grub().efi_image.size());

  // Reads of random ranges equal the whole disk's bytes; past the end is out_of_range.
  const auto whole = vdisk::test::read_disk(*disk);
  std::mt19937_64 rng(5);
  for (int i = 0; i < 200; ++i) {
    const std::uint64_t at = rng() % l.size;
    const std::uint64_t n = std::min<std::uint64_t>(rng() % (3u << 20), l.size - at);
    std::vector<std::byte> buf(n);
    REQUIRE(disk->read(at, buf).ok());
    REQUIRE(std::memcmp(buf.data(), whole.data() + at, n) == 0);
  }
  std::vector<std::byte> one(1);
  CHECK(disk->read(l.size, one).code() == Errc::out_of_range);
  std::vector<Extent> out;
  CHECK(disk->map(l.size - 1, 2, out).code() == Errc::out_of_range);
}

TEST_CASE("repack: the same inputs give the same disk, identities follow the PVD",
          "[livecd][repack]") {
  const vdisk::test::MemorySource iso(synthetic_iso(600));
  const auto a = vdisk::test::read_disk(*repack(iso));
  const auto b = vdisk::test::read_disk(*repack(iso));
  CHECK(a == b);
  const auto la = repack(iso)->layout();
  CHECK(la.esp_timestamp == 1708433110);  // 2024-02-20 13:45:10 at GMT+1
  CHECK(la.iso_volume_id == "SYNTH");

  const vdisk::test::MemorySource other(synthetic_iso(600, "OTHER"));
  const auto lo = repack(other)->layout();
  CHECK(lo.disk_guid != la.disk_guid);
  CHECK(lo.esp_serial != la.esp_serial);

  // A PVD date that is not a date, or before 1980: 1980-01-01. Options override both.
  const vdisk::test::MemorySource undated(synthetic_iso(600, "X", "0000000000000000"));
  CHECK(repack(undated)->layout().esp_timestamp == 315532800);
  RepackOptions o;
  o.timestamp = 1700000000;
  o.volume_serial = 0xABCD1234;
  o.active_flag = true;
  const auto custom = repack(iso, o);
  CHECK(custom->layout().esp_timestamp == 1700000000);
  CHECK(custom->layout().esp_serial == 0xABCD1234);
  std::vector<std::byte> mbr(512);
  REQUIRE(custom->read(0, mbr).ok());
  CHECK(mbr[446] == std::byte{0x80});
}

TEST_CASE("repack: hostile boot, core and EFI images are refused", "[livecd][repack][hostile]") {
  const vdisk::test::MemorySource iso(synthetic_iso(600));
  const auto& g = grub();
  auto refused = [&](std::vector<std::byte> boot, std::vector<std::byte> core,
                     std::vector<std::byte> efi, const char* needle) {
    auto r = make_repack(iso, entry(), {boot, core, efi});
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == Errc::invalid_argument);
    CHECK_THAT(r.status().message(), Catch::Contains(needle));
  };
  auto boot = g.boot_image;
  boot.pop_back();
  refused(boot, g.core_image, g.efi_image, "size 511 bytes, expected 512");
  refused(vdisk::test::read_file("/usr/lib/grub/i386-pc/boot_hybrid.img"), g.core_image,
          g.efi_image, "grub boot.img");
  boot = g.boot_image;
  boot[0x5C] = std::byte{7};
  refused(boot, g.core_image, g.efi_image, "kernel_sector at 0x5c is 7");
  boot = g.boot_image;
  boot[511] = std::byte{0};
  refused(boot, g.core_image, g.efi_image, "no 55 aa");

  // Core images: too large for p1 (blocklist fields consistent), wrong length, wrong segment,
  // a second blocklist entry, a foreign start, too small.
  std::vector<std::byte> big(g.core_image);
  big.resize((1u << 20) + 512);
  detail::store_le16(std::span(big).subspan(0x1FC), static_cast<std::uint16_t>(2048));
  refused(g.boot_image, big, g.efi_image, "exceeds the 1048576-byte BIOS boot partition");
  auto core = g.core_image;
  core[0x1FC] = std::byte{static_cast<unsigned char>(static_cast<unsigned>(core[0x1FC]) + 1)};
  refused(g.boot_image, core, g.efi_image, "blocklist length");
  core = g.core_image;
  detail::store_le16(std::span(core).subspan(0x1FE), 0x1000);
  refused(g.boot_image, core, g.efi_image, "segment at 0x1fe is 0x1000");
  core = g.core_image;
  core[0x1F0] = std::byte{1};
  refused(g.boot_image, core, g.efi_image, "entry at 0x1e8 is not empty");
  core = g.core_image;
  core[0x1F4] = std::byte{9};
  refused(g.boot_image, core, g.efi_image, "start at 0x1f4 is 9");
  refused(g.boot_image, std::vector<std::byte>(1000), g.efi_image, "at least 1024");
  refused(g.boot_image, vdisk::test::read_file("/usr/lib/grub/i386-pc/boot.img"), g.efi_image,
          "at least 1024");

  // EFI images: not PE, PE offset outside, wrong machine.
  refused(g.boot_image, g.core_image, std::vector<std::byte>(4096), "no MZ");
  auto efi = g.efi_image;
  detail::store_le32(std::span(efi).subspan(0x3C), 0xFFFFFFF0u);
  refused(g.boot_image, g.core_image, efi, "past the end");
  efi = g.efi_image;
  const auto pe = detail::load_le32(std::span(efi).subspan(0x3C));
  detail::store_le16(std::span(efi).subspan(pe + 4), 0x014C);
  refused(g.boot_image, g.core_image, efi, "machine 0x014c");

  // A core image the repack already placed (start = 2049) is accepted as it is.
  core = g.core_image;
  detail::store_le64(std::span(core).subspan(0x1F4), 2049);
  CHECK(make_repack(iso, entry(), {g.boot_image, core, g.efi_image}).ok());
}

TEST_CASE("repack: hostile ISOs and entries are refused", "[livecd][repack][hostile]") {
  const auto& g = grub();
  auto refused = [&](std::vector<std::byte> iso_bytes, const char* needle,
                     Errc code = Errc::corrupt) {
    const vdisk::test::MemorySource iso(std::move(iso_bytes));
    auto r = make_repack(iso, entry(), images_of(g));
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == code);
    CHECK_THAT(r.status().message(), Catch::Contains(needle));
  };
  auto iso = synthetic_iso(600);
  iso.resize(iso.size() + 100);
  refused(iso, "not a multiple of 2048 (100 bytes past");
  refused(std::vector<std::byte>(32768), "ends before the primary volume descriptor");
  iso = synthetic_iso(600);
  iso[32768 + 1] = std::byte{'X'};
  refused(iso, "expected type 1 \"CD001\"");
  iso = synthetic_iso(600);
  detail::store_le32(std::span(iso).subspan(32768 + 80), 601);
  refused(iso, "volume space of 601 blocks");
  iso = synthetic_iso(600);
  detail::store_le16(std::span(iso).subspan(32768 + 128), 512);
  refused(iso, "logical block size 512");
  CHECK(repack_iso_partuuid(vdisk::test::MemorySource(iso)).status().code() == Errc::corrupt);

  // An ISO whose size leaves no room for a disk (the size overflows): refused, not wrapped.
  class Huge final : public BlockSource {
   public:
    std::uint64_t size() const override { return ~std::uint64_t{0} - 2047; }
    Status read(std::uint64_t offset, std::span<std::byte> dst) const override {
      const auto pvd = synthetic_iso(17);
      if (offset != 32768 || dst.size() != 2048) return out_of_range("unexpected read");
      std::memcpy(dst.data(), pvd.data() + 32768, 2048);
      return ok_status();
    }
    std::string_view format() const override { return "huge"; }
  };
  const Huge huge;
  auto too_big = make_repack(huge, entry(), images_of(g));
  CHECK(too_big.status().code() == Errc::invalid_argument);
  CHECK_THAT(too_big.status().message(), Catch::Contains("puts the ESP past LBA 2^32"));

  // A read error from the ISO is passed on.
  vdisk::test::MemorySource failing(synthetic_iso(600));
  failing.fail_read(1);
  CHECK(make_repack(failing, entry(), images_of(g)).status().code() == Errc::io_error);

  const vdisk::test::MemorySource ok_iso(synthetic_iso(600));
  BootEntry e = entry();
  e.append = "a=\"b c\"";
  CHECK(make_repack(ok_iso, e, images_of(g)).status().code() == Errc::invalid_argument);
  RepackOptions o;
  o.esp_label = "lower";
  CHECK(make_repack(ok_iso, entry(), images_of(g), o).status().code() == Errc::invalid_argument);
  // Control characters in the volume id become '_' (the label stays one line).
  auto weird = synthetic_iso(600, "A\nB");
  const vdisk::test::MemorySource weird_iso(weird);
  auto r = make_repack(weird_iso, entry(), images_of(g));
  REQUIRE(r.ok());
  CHECK((*r)->layout().iso_volume_id == "A_B");
}
