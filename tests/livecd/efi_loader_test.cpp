// UEFI loaders and Secure Boot (formats/iso9660/livecd/efi_loader.h, the iso9660 `secure-boot` option): PE
// images built here byte by byte (unsigned, shim by its SBAT line, a PKCS#7 certificate naming
// Microsoft's UEFI CA or another key, hostile offsets), GRUB's own x86_64-efi image from
// grub-mkimage unsigned and signed with sbsign, and live ISOs whose El Torito EFI image holds
// them, opened as boot disks with and without secure-boot.
#include <catch2/catch.hpp>

#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "../../tools/vdconvert/grub_images.h"
#include "formats/iso9660/livecd/efi_loader.h"
#include "test_support.h"
#include "base/endian.h"
#include "vdisk/image.h"

using namespace vdisk;
using namespace vdisk::livecd;
using vdisk::test::TempDir;
namespace fs = std::filesystem;

namespace {

void sh(const std::string& cmd) {
  INFO(cmd);
  REQUIRE(vdisk::test::run(cmd + " >/dev/null 2>&1") == 0);
}

std::string q(const fs::path& p) { return "'" + p.string() + "'"; }

struct Section {
  std::string name;
  std::string data;
};

// A PE32+ image: DOS header (e_lfanew 0x80), "PE\0\0", COFF header, a 240-byte optional header
// with 16 data directories, the sections' raw data, then an optional certificate table.
std::vector<std::byte> make_pe(std::uint16_t machine, const std::vector<Section>& sections,
                               const std::vector<std::byte>& certificate = {}) {
  using detail::store_le16;
  using detail::store_le32;
  constexpr std::size_t kPe = 0x80, kOptional = 240;
  const std::size_t table = kPe + 4 + 20 + kOptional;
  std::size_t raw = (table + sections.size() * 40 + 511) / 512 * 512;
  std::vector<std::byte> b(raw);
  b[0] = std::byte{'M'};
  b[1] = std::byte{'Z'};
  const std::span<std::byte> s(b);
  store_le32(s.subspan(0x3C), kPe);
  std::memcpy(b.data() + kPe, "PE\0\0", 4);
  store_le16(s.subspan(kPe + 4), machine);
  store_le16(s.subspan(kPe + 6), static_cast<std::uint16_t>(sections.size()));
  store_le16(s.subspan(kPe + 20), static_cast<std::uint16_t>(kOptional));
  const std::size_t opt = kPe + 24;
  store_le16(s.subspan(opt), 0x20B);
  store_le32(s.subspan(opt + 108), 16);
  for (std::size_t i = 0; i < sections.size(); ++i) {
    const auto h = table + i * 40;
    std::memcpy(b.data() + h, sections[i].name.data(),
                std::min<std::size_t>(8, sections[i].name.size()));
    store_le32(std::span(b).subspan(h + 16), static_cast<std::uint32_t>(sections[i].data.size()));
    store_le32(std::span(b).subspan(h + 20), static_cast<std::uint32_t>(b.size()));
    const auto* d = reinterpret_cast<const std::byte*>(sections[i].data.data());
    b.insert(b.end(), d, d + sections[i].data.size());
    b.resize((b.size() + 511) / 512 * 512);
  }
  if (!certificate.empty()) {
    const std::size_t at = b.size();
    std::vector<std::byte> entry(8);
    store_le32(entry, static_cast<std::uint32_t>(8 + certificate.size()));
    store_le16(std::span(entry).subspan(4), 0x0200);
    store_le16(std::span(entry).subspan(6), 0x0002);
    entry.insert(entry.end(), certificate.begin(), certificate.end());
    entry.resize((entry.size() + 7) / 8 * 8);
    b.insert(b.end(), entry.begin(), entry.end());
    store_le32(std::span(b).subspan(opt + 112 + 4 * 8), static_cast<std::uint32_t>(at));
    store_le32(std::span(b).subspan(opt + 112 + 4 * 8 + 4),
               static_cast<std::uint32_t>(entry.size()));
  }
  return b;
}

// DER-ish bytes naming an issuer (the classifier looks for the name only).
std::vector<std::byte> cert_naming(const std::string& issuer) {
  std::string der = std::string("\x30\x82\x01\x00\x06\x09", 6) + "junk" + issuer + "more";
  const auto* p = reinterpret_cast<const std::byte*>(der.data());
  return {p, p + der.size()};
}

const std::string kShimSbat =
    "sbat,1,SBAT Version,sbat,1,https://github.com/rhboot/shim/blob/main/SBAT.md\n"
    "shim,3,UEFI shim,shim,1,https://github.com/rhboot/shim\n";

// A live ISO with only an El Torito EFI image (FAT) holding `loader` as BOOTX64.EFI.
fs::path efi_only_iso(const TempDir& t, const std::string& name,
                      const std::vector<std::byte>& loader) {
  const fs::path src = t / ("src-" + name), img = t / (name + "-efi.img");
  fs::create_directories(src / "boot");
  vdisk::test::write_file(src / "boot/readme.txt", vdisk::test::bytes_of("live\n"));
  vdisk::test::write_file(t / "BOOTX64.EFI", loader);
  sh("rm -f " + q(img) + " && mkfs.vfat -C " + q(img) + " 2880");
  sh("mmd -i " + q(img) + " ::EFI ::EFI/BOOT");
  sh("mcopy -i " + q(img) + " " + q(t / "BOOTX64.EFI") + " ::EFI/BOOT/");
  fs::copy_file(img, src / "boot/efi.img", fs::copy_options::overwrite_existing);
  const fs::path iso = t / (name + ".iso");
  sh("xorriso -as mkisofs -quiet -R -V SBTEST -e boot/efi.img -no-emul-boot -o " + q(iso) + " " +
     q(src));
  return iso;
}

Result<std::unique_ptr<BlockSource>> open_boot(const fs::path& iso, bool secure_boot,
                                               std::vector<std::string>* notes = nullptr) {
  OpenOptions o;
  o.boot_disk = true;
  if (secure_boot) REQUIRE(set_format_option(o, "secure-boot").ok());
  o.on_diagnostic = [notes](const Diagnostic& d) {
    if (notes) notes->push_back(d.message);
  };
  return open_image(iso, o);
}

}  // namespace

TEST_CASE("efi loader: PE facts for Secure Boot", "[livecd][efi]") {
  SECTION("unsigned x86-64") {
    const auto f = classify_efi_loader(make_pe(0x8664, {{".text", "code"}}));
    CHECK(f.pe);
    CHECK(f.machine == 0x8664);
    CHECK_FALSE(f.signed_image);
    CHECK_FALSE(f.shim);
    CHECK(describe_efi_loader(f) == "not signed, x86-64");
  }
  SECTION("shim signed with Microsoft's UEFI CA") {
    const auto f = classify_efi_loader(make_pe(0x8664, {{".text", "code"}, {".sbat", kShimSbat}},
                                               cert_naming("Microsoft Corporation UEFI CA 2011")));
    CHECK(f.pe);
    CHECK(f.shim);
    CHECK(f.signed_image);
    CHECK(f.microsoft_ca);
    CHECK(describe_efi_loader(f) == "shim, signed (Microsoft UEFI CA), x86-64");
  }
  SECTION("GRUB's SBAT line is not shim; signed with another key; arm64") {
    const auto f = classify_efi_loader(
        make_pe(0xAA64, {{".sbat", "sbat,1,SBAT Version\ngrub,3,Free Software Foundation\n"}},
                cert_naming("Debian Secure Boot CA")));
    CHECK_FALSE(f.shim);
    CHECK(f.signed_image);
    CHECK_FALSE(f.microsoft_ca);
    CHECK(describe_efi_loader(f) == "signed (another key), arm64");
  }
  SECTION("a .vendor_cert section is shim") {
    CHECK(classify_efi_loader(make_pe(0x8664, {{".vendor_cert", "x"}})).shim);
  }
  SECTION("hostile images are described, never read past") {
    CHECK_FALSE(classify_efi_loader({}).pe);
    auto b = make_pe(0x8664, {{".sbat", kShimSbat}}, cert_naming("x"));
    auto lfanew = b;
    detail::store_le32(std::span(lfanew).subspan(0x3C), 0xFFFFFFF0u);
    CHECK_FALSE(classify_efi_loader(lfanew).pe);
    auto cert = b;  // certificate table past the end
    detail::store_le32(std::span(cert).subspan(0x80 + 24 + 112 + 32 + 4), 0x7FFFFFFFu);
    const auto f = classify_efi_loader(cert);
    CHECK(f.pe);
    CHECK_FALSE(f.signed_image);
    CHECK_THAT(f.problem, Catch::Contains("certificate table"));
    auto sections = b;  // a section count far past the image
    detail::store_le16(std::span(sections).subspan(0x80 + 6), 0xFFFF);
    CHECK(classify_efi_loader(sections).pe);
    auto entry = b;  // a WIN_CERTIFICATE longer than its table
    const std::uint32_t at = detail::load_le32(std::span(entry).subspan(0x80 + 24 + 112 + 32));
    detail::store_le32(std::span(entry).subspan(at), 0x10000);
    CHECK_FALSE(classify_efi_loader(entry).signed_image);
    for (std::size_t cut = 0; cut < b.size(); cut += 61)
      (void)classify_efi_loader(std::span(b).first(cut));
  }
}

TEST_CASE("efi loader: GRUB from grub-mkimage, unsigned and signed with sbsign", "[livecd][efi]") {
  auto images = vdconvert::build_grub_images();
  REQUIRE(images.ok());
  const auto grub = classify_efi_loader(images->efi_image);
  CHECK(grub.pe);
  CHECK(grub.machine == 0x8664);
  CHECK_FALSE(grub.signed_image);
  CHECK_FALSE(grub.shim);

  TempDir t;
  vdisk::test::write_file(t / "grub.efi", images->efi_image);
  sh("openssl req -new -x509 -newkey rsa:2048 -nodes -days 1 -subj '/CN=vdisk test key/' -keyout " +
     q(t / "key.pem") + " -out " + q(t / "cert.pem"));
  sh("sbsign --key " + q(t / "key.pem") + " --cert " + q(t / "cert.pem") + " --output " +
     q(t / "signed.efi") + " " + q(t / "grub.efi"));
  const auto signed_grub = classify_efi_loader(vdisk::test::read_file(t / "signed.efi"));
  CHECK(signed_grub.pe);
  CHECK(signed_grub.signed_image);
  CHECK_FALSE(signed_grub.microsoft_ca);
}

TEST_CASE("efi loader: secure-boot keeps only a loader signed with Microsoft's UEFI CA",
          "[livecd][efi]") {
  TempDir t;
  // Accepted: the hybrid keeps the ISO's loader, and nothing says Secure Boot must be off.
  const auto good = efi_only_iso(
      t, "ms", make_pe(0x8664, {{".sbat", kShimSbat}}, cert_naming("Microsoft UEFI CA 2023")));
  std::vector<std::string> notes;
  auto disk = open_boot(good, true, &notes);
  REQUIRE(disk.ok());
  bool hybrid = false;
  for (const auto& n : notes) {
    CHECK_THAT(n, !Catch::Contains("Secure Boot must be off"));
    hybrid = hybrid || n.find("made bootable as a disk (hybrid)") != std::string::npos;
  }
  CHECK(hybrid);

  // Refused: a loader signed with another key, an unsigned one.
  for (const auto& [name, cert] :
       {std::pair<std::string, std::vector<std::byte>>{"other", cert_naming("Debian CA")},
        std::pair<std::string, std::vector<std::byte>>{"unsigned", {}}}) {
    INFO(name);
    const auto iso = efi_only_iso(t, name, make_pe(0x8664, {{".text", "x"}}, cert));
    auto refused = open_boot(iso, true);
    CHECK(refused.status().code() == Errc::unsupported);
    CHECK_THAT(refused.status().message(),
               Catch::Contains("secure-boot") && Catch::Contains("not signed with Microsoft"));
    // Without secure-boot it converts, with the note that Secure Boot must be off.
    std::vector<std::string> off;
    auto plain = open_boot(iso, false, &off);
    REQUIRE(plain.ok());
    bool told = false;
    for (const auto& n : off) told = told || n.find("Secure Boot must be off") != std::string::npos;
    CHECK(told);
  }
  // Modes that replace the loader or make no boot disk are refused up front.
  OpenOptions o;
  REQUIRE(set_format_option(o, "secure-boot").ok());
  REQUIRE(set_format_option(o, "boot", "grub").ok());
  auto grub = open_image(good, o);
  CHECK(grub.status().code() == Errc::invalid_argument);
  CHECK_THAT(grub.status().message(), Catch::Contains("not signed"));
}
