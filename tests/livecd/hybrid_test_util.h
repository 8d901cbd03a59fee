// Shared helpers of the hybridiser tests (hybrid_test.cpp, hybrid_hostile_test.cpp): ISOs made
// with xorriso, building a hybrid view and reading all of it, and byte-by-byte checks of a view
// against its ISO.
#ifndef VDISK_TESTS_LIVECD_HYBRID_TEST_UTIL_H_
#define VDISK_TESTS_LIVECD_HYBRID_TEST_UTIL_H_

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "formats/iso9660/livecd/hybrid.h"
#include "formats/raw/raw.h"
#include "test_support.h"
#include "base/endian.h"
#include "vdisk/image.h"

namespace vdisk::test::hybrid {

using namespace vdisk::livecd;
namespace fs = std::filesystem;
using vdisk::detail::load_le16;
using vdisk::detail::load_le32;
using vdisk::detail::load_le64;
using vdisk::test::TempDir;

inline constexpr std::uint64_t kMiB = 1024 * 1024;

inline std::string q(const fs::path& p) { return "'" + p.string() + "'"; }

inline void sh(const std::string& cmd) {
  INFO(cmd);
  REQUIRE(vdisk::test::run(cmd + " >/dev/null 2>&1") == 0);
}

inline std::string out_of(const std::string& cmd) {
  std::string out;
  INFO(cmd);
  REQUIRE(vdisk::test::run(cmd + " 2>&1", &out) == 0);
  return out;
}

inline std::uint8_t u8(const std::vector<std::byte>& b, std::size_t i) {
  return std::to_integer<std::uint8_t>(b[i]);
}

// The image offset of the file at `path` inside the ISO, found by the ISO 9660 reader.
inline std::uint64_t file_offset(const fs::path& iso, const std::string& path) {
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

inline Built build(const fs::path& iso_path) {
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
inline void check_outside(const Built& b,
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

inline void check_map(const Built& b) {
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
inline void check_tools(const Built& b, const fs::path& out, const std::string& some_file) {
  vdisk::test::write_file(out, b.disk);
  const std::string x = out_of("xorriso -indev " + q(out) + " -find / -type f");
  CHECK_THAT(x, Catch::Contains(some_file));
  const std::string t = out_of("bsdtar -tf " + q(out));
  CHECK_THAT(t, Catch::Contains(some_file.substr(1)));
}

inline void check_gpt(const Built& b, const fs::path& out, std::uint64_t efi_offset,
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

inline void check_common_sector0(const Built& b) {
  CHECK(u8(b.disk, 510) == 0x55);
  CHECK(u8(b.disk, 511) == 0xAA);
  CHECK(load_le32(std::span(b.disk).subspan(440)) == b.plan.disk_signature);
  CHECK(b.plan.disk_signature != 0);
  CHECK(u8(b.disk, 444) == 0);
  CHECK(u8(b.disk, 445) == 0);
  CHECK(b.disk.size() % kMiB == 0);
}

inline std::unique_ptr<StreamSource> stream_of(std::vector<std::byte> bytes) {
  return raw::open_stream(memory_stream(std::move(bytes)));
}

// Drains a stream with next() (zero runs expanded) into bytes; the error, if any, in `error`.
inline std::vector<std::byte> drain(StreamSource& s, Status& error, std::size_t chunk = 100000) {
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

}  // namespace vdisk::test::hybrid

#endif  // VDISK_TESTS_LIVECD_HYBRID_TEST_UTIL_H_
