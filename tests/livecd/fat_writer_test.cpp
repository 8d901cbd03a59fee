// The FAT32 writer (formats/iso9660/livecd/fat_writer.h): volumes checked with fsck.fat and read back with
// mtools; determinism; hostile names and options.
#include <catch2/catch.hpp>

#include <cstring>
#include <string>

#include "formats/iso9660/livecd/fat_writer.h"
#include "test_support.h"
#include "base/endian.h"

using namespace vdisk;
using namespace vdisk::livecd;
using vdisk::test::TempDir;

namespace {

std::vector<std::byte> text(std::string_view s) { return vdisk::test::bytes_of(s); }

std::vector<FatEntry> esp_entries(std::size_t efi_bytes = 700000) {
  std::vector<FatEntry> e;
  e.push_back({"EFI/BOOT/BOOTX64.EFI", false, vdisk::test::pattern(efi_bytes, 7)});
  e.push_back({"EFI/BOOT/GRUB.CFG", false, text("set timeout=1\n")});
  return e;
}

FatImage build(std::vector<FatEntry> entries, const FatOptions& o = {}) {
  auto r = build_fat32(std::move(entries), o);
  REQUIRE(r.ok());
  return std::move(r).value();
}

std::filesystem::path write_image(const TempDir& dir, const FatImage& fat,
                                  const char* name = "fat.img") {
  const auto path = dir / name;
  vdisk::test::write_file(path, fat.image.to_bytes());
  return path;
}

std::string sh(const std::string& cmd) {
  std::string out;
  INFO(cmd);
  REQUIRE(vdisk::test::run(cmd, &out) == 0);
  return out;
}

}  // namespace

TEST_CASE("fat: an ESP volume passes fsck.fat and reads back with mtools", "[livecd][fat]") {
  TempDir dir;
  FatOptions o;
  o.volume_serial = 0x12345678;
  o.label = "EFI";
  o.timestamp = 1708436710;  // 2024-02-20 13:45:10 UTC
  o.hidden_sectors = 4096;
  auto entries = esp_entries();
  entries.push_back({"EFI/EMPTY.TXT", false, {}});
  entries.push_back({"DATA/SUB/DEEP", true, {}});
  entries.push_back({"DATA/README", false, text("hello\n")});
  const auto efi = entries[0].data;
  const FatImage fat = build(std::move(entries), o);
  const auto img = write_image(dir, fat);

  const std::string fsck = sh("fsck.fat -n -v '" + img.string() + "' 2>&1");
  CHECK_THAT(fsck, Catch::Contains("32 bit entries"));
  CHECK_THAT(fsck, Catch::Contains("4096 hidden sectors"));
  CHECK_THAT(fsck, !Catch::Contains("differ"));
  CHECK_THAT(fsck, !Catch::Contains("Reclaimed"));
  CHECK_THAT(fsck, !Catch::Contains("wrong"));

  CHECK(sh("mtype -i '" + img.string() + "' ::/EFI/BOOT/GRUB.CFG") == "set timeout=1\n");
  CHECK(sh("mtype -i '" + img.string() + "' ::/DATA/README") == "hello\n");
  sh("mcopy -n -i '" + img.string() + "' ::/EFI/BOOT/BOOTX64.EFI '" + (dir / "out.efi").string() +
     "'");
  CHECK(vdisk::test::read_file(dir / "out.efi") == efi);
  const std::string listing = sh("mdir -i '" + img.string() + "' -/ ::");
  CHECK_THAT(listing, Catch::Contains("Volume in drive : is EFI"));
  CHECK_THAT(listing, Catch::Contains("Serial Number is 1234-5678"));
  CHECK_THAT(listing, Catch::Contains("2024-02-20  13:45"));
  CHECK_THAT(listing, Catch::Contains("EMPTY    TXT         0"));
  CHECK_THAT(listing, Catch::Contains("Directory for ::/DATA/SUB/DEEP"));
  const std::string info = sh("minfo -i '" + img.string() + "' ::");
  CHECK_THAT(info, Catch::Contains("cluster size: 1 sectors"));
  CHECK_THAT(info, Catch::Contains("big size: " + std::to_string(fat.geometry.total_sectors)));
}

TEST_CASE("fat: geometry is FAT32 with a margin, whole MiB, and grows with the files",
          "[livecd][fat]") {
  const FatImage small = build(esp_entries());
  CHECK(small.geometry.cluster_count >= 65525 + 16);
  CHECK(small.image.size() % (1u << 20) == 0);
  CHECK(small.image.size() == 33u << 20);
  CHECK(std::uint64_t{small.geometry.fat_sectors} * 128 >= small.geometry.cluster_count + 2);

  // 40 MiB of file data: the volume grows past the minimum and fsck still agrees.
  const FatImage big = build(esp_entries(40u << 20));
  CHECK(big.image.size() > (40u << 20));
  CHECK(big.image.size() % (1u << 20) == 0);
  CHECK(big.geometry.used_clusters > 80000);
  TempDir dir;
  sh("fsck.fat -n '" + write_image(dir, big).string() + "' >/dev/null 2>&1");

  FatOptions o;
  o.min_bytes = 50u << 20;
  o.align_bytes = 4u << 20;
  const FatImage padded = build(esp_entries(), o);
  CHECK(padded.image.size() == 52u << 20);
}

TEST_CASE("fat: the image is pieces over holes", "[livecd][fat]") {
  const FatImage fat = build(esp_entries());
  std::vector<Extent> map;
  fat.image.map(0, fat.image.size(), map);
  std::uint64_t data = 0, covered = 0;
  for (const auto& e : map) {
    CHECK(e.offset == covered);
    covered += e.length;
    if (!e.reads_as_zero()) data += e.length;
  }
  CHECK(covered == fat.image.size());
  CHECK(data < 800000);  // boot sectors, the used FAT parts, directories and the files
  CHECK(data > 700000);
  // A read across piece edges equals the materialised bytes.
  const auto whole = fat.image.to_bytes();
  for (std::uint64_t at : {0ull, 510ull, 16380ull, 548000ull, 600001ull}) {
    std::vector<std::byte> buf(70000);
    REQUIRE(fat.image.read(at, buf).ok());
    CHECK(std::memcmp(buf.data(), whole.data() + at, buf.size()) == 0);
  }
  std::vector<std::byte> one(1);
  CHECK(fat.image.read(fat.image.size(), one).code() == Errc::out_of_range);
}

TEST_CASE("fat: the same inputs give the same bytes", "[livecd][fat]") {
  FatOptions o;
  o.volume_serial = 42;
  o.timestamp = 1700000000;
  const auto a = build(esp_entries(), o).image.to_bytes();
  const auto b = build(esp_entries(), o).image.to_bytes();
  CHECK(a == b);
  o.volume_serial = 43;
  const auto c = build(esp_entries(), o).image.to_bytes();
  REQUIRE(c.size() == a.size());
  std::size_t differ = 0;
  for (std::size_t i = 0; i < a.size(); ++i) differ += a[i] != c[i];
  CHECK(differ > 0);
  CHECK(differ <= 8);  // the serial in the boot sector and its backup only
  CHECK(detail::load_le32(std::span(c).subspan(67)) == 43);
}

TEST_CASE("fat: hostile names, paths and options are refused", "[livecd][fat][hostile]") {
  auto refused = [](std::vector<FatEntry> e, const FatOptions& o, const char* needle,
                    Errc code = Errc::invalid_argument) {
    auto r = build_fat32(std::move(e), o);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == code);
    CHECK_THAT(r.status().message(), Catch::Contains(needle));
  };
  const FatOptions o;
  refused({{"EFI/boot/x.efi", false, {}}}, o, "'boot' in 'EFI/boot/x.efi' is not");
  refused({{"/EFI", true, {}}}, o, "'' in '/EFI'");
  refused({{"EFI//A", true, {}}}, o, "'' in 'EFI//A'");
  refused({{"", true, {}}}, o, "empty path");
  refused({{"TOOLONGNAME", false, {}}}, o, "not an upper-case 8.3 name");
  refused({{"A.B.C", false, {}}}, o, "not an upper-case 8.3 name");
  refused({{"NAME.EXTN", false, {}}}, o, "not an upper-case 8.3 name");
  refused({{"NAME.", false, {}}}, o, "not an upper-case 8.3 name");
  refused({{".", true, {}}}, o, "not an upper-case 8.3 name");
  refused({{"A*B", false, {}}}, o, "not an upper-case 8.3 name");
  refused({{"A", false, {}}, {"A", false, {}}}, o, "listed twice");
  refused({{"A", true, {}}, {"A", true, {}}}, o, "listed twice");
  refused({{"A", false, {}}, {"A/B", false, {}}}, o, "it is a file");
  refused({{"D", true, text("x")}}, o, "has data");
  FatOptions bad = o;
  bad.label = "lower";
  refused({}, bad, "volume label 'lower'");
  bad.label = "TWELVECHARSX";
  refused({}, bad, "volume label");
  bad = o;
  bad.timestamp = 315532799;
  refused({}, bad, "outside FAT's range");
  bad.timestamp = 4354819200;
  refused({}, bad, "outside FAT's range");
  bad = o;
  bad.align_bytes = 1000;
  refused({}, bad, "not a positive multiple of 512");
  bad = o;
  bad.max_entries = 2;
  refused({{"A/B/C", true, {}}}, bad, "more than 2", Errc::resource_exhausted);
  refused({{"A", true, {}}, {"B", true, {}}, {"C", true, {}}}, bad, "3 entries",
          Errc::resource_exhausted);
  bad = o;
  bad.max_bytes = 32u << 20;  // below FAT32's minimum volume
  refused({}, bad, "exceeds the limit", Errc::resource_exhausted);
  bad.max_bytes = 64u << 20;
  refused(esp_entries(70u << 20), bad, "volume limit", Errc::resource_exhausted);

  // Accepted edge cases: every special character of the 8.3 set, an implied directory listed
  // afterwards, no label.
  CHECK(build_fat32({{"!#$%&'()/-@^_`{}~.A1", false, text("x")}, {"!#$%&'()", true, {}}}, o).ok());
  CHECK(is_short_name("BOOTX64.EFI"));
  CHECK_FALSE(is_short_name("bootx64.efi"));
}
