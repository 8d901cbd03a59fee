// What a live ISO's UEFI loader (\EFI\BOOT\BOOTX64.EFI in its El Torito EFI image) is, as far as
// Secure Boot is concerned (docs/livecd.md §11): its machine, whether it carries an Authenticode
// signature, whether that signature chains to Microsoft's UEFI CA (the third-party key the
// clouds' Secure Boot databases hold: Azure Trusted Launch, GCP Shielded VM), and whether it is
// shim (which then loads grubx64.efi, signed with the distribution's key, from its directory).
//
// PE/COFF layout (Microsoft "PE Format": MS-DOS stub e_lfanew at 0x3C, "PE\0\0", COFF file
// header, optional header PE32 (0x10B) or PE32+ (0x20B) with its data directories, section
// table); the certificate table is data directory 4, whose address is a file offset, holding
// WIN_CERTIFICATE entries (revision 0x0200, type 0x0002 PKCS#7 SignedData). The signer is found
// by the issuer names in the certificates' DER bytes; the signature itself is not verified (the
// firmware does that): the question answered is "which key would have to be trusted".
//
// Every offset and count is checked against the image; malformed images are described in
// `problem`, never an error.
#ifndef VDISK_LIVECD_EFI_LOADER_H_
#define VDISK_LIVECD_EFI_LOADER_H_

#include <cstdint>
#include <span>
#include <string>

namespace vdisk::livecd {

struct EfiLoaderFacts {
  bool pe = false;            // a PE image whose headers could be read
  std::uint16_t machine = 0;  // COFF machine: 0x8664 x86-64, 0xAA64 arm64, 0x014C i386
  bool signed_image = false;  // a certificate table with a PKCS#7 WIN_CERTIFICATE
  bool microsoft_ca = false;  // the certificates name Microsoft's UEFI CA (2011 or 2023)
  bool shim = false;          // a ".vendor_cert" section: shim
  std::string problem;        // why `pe` is false, or why the certificate table was not read
};

EfiLoaderFacts classify_efi_loader(std::span<const std::byte> image);

// "x86-64", "arm64", "i386" or "0x...." for the COFF machine.
std::string efi_machine_name(std::uint16_t machine);

// One line for reports: "shim, signed (Microsoft UEFI CA), x86-64" / "not signed, x86-64".
std::string describe_efi_loader(const EfiLoaderFacts& f);

}  // namespace vdisk::livecd

#endif  // VDISK_LIVECD_EFI_LOADER_H_
