// The GRUB images the live-ISO repack needs (`convert --boot grub`, libvdisk's
// formats/iso9660/livecd/repack.h): GRUB's i386-pc boot.img, an i386-pc core image and an x86_64-efi
// BOOTX64.EFI, built by running the machine's grub-mkimage. GRUB is GPLv3, so neither the
// library nor vdconvert carries its code: the images come from the installed packages at run
// time. The library never spawns processes; this is the tool's half.
//
// Both images embed the same early configuration, which puts GRUB's terminal on the serial
// port (COM1, 115200) as well as the screen, so that a failure before grub.cfg is readable from
// a cloud's serial console. Their prefixes name where the repack puts grub.cfg: the i386-pc
// core reads "(,gpt2)/EFI/BOOT" (partition 2 of the disk it booted from), the EFI image
// "/EFI/BOOT" (the partition it was loaded from); GRUB's normal mode then runs grub.cfg there.
//
// Determinism: grub-mkimage 2.06 (Debian 2.06-13) writes the same bytes for the same inputs
// (checked: two runs, identical core and EFI images), so the repacked disk is reproducible for
// one installed GRUB version.
#ifndef VDCONVERT_GRUB_IMAGES_H_
#define VDCONVERT_GRUB_IMAGES_H_

#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

#include "vdisk/image.h"
#include "vdisk/status.h"

namespace vdconvert {

// boot_image: <lib_dir>/i386-pc/boot.img (512 bytes); core_image: grub-mkimage -O i386-pc;
// efi_image: grub-mkimage -O x86_64-efi.
using GrubImages = vdisk::GrubImages;

struct GrubImageOptions {
  // The grub-mkimage to run: a path, or a name looked up in PATH.
  std::string mkimage = "grub-mkimage";
  // GRUB's platform directories: <lib_dir>/i386-pc and <lib_dir>/x86_64-efi.
  std::filesystem::path lib_dir = "/usr/lib/grub";
  // Where the private temporary directory is made; empty: the system's temporary directory.
  std::filesystem::path temp_parent;
  std::string bios_prefix = "(,gpt2)/EFI/BOOT";
  std::string efi_prefix = "/EFI/BOOT";
};

// The modules built into each image (all resolved by grub-mkimage with their dependencies).
const std::vector<std::string>& grub_bios_modules();
const std::vector<std::string>& grub_efi_modules();

// Checks the tool and files, runs grub-mkimage twice (posix_spawn, no shell) into a private
// temporary directory that is removed before returning, and returns the three images.
// Errors, one line each: not_found listing every missing tool or file with its Debian package
// (grub-common for grub-mkimage, grub-pc-bin for i386-pc/*, grub-efi-amd64-bin for
// x86_64-efi/*); io_error when grub-mkimage cannot be started, fails (its exit status and last
// line of error output) or writes no image.
vdisk::Result<GrubImages> build_grub_images(const GrubImageOptions& options = {});

}  // namespace vdconvert

#endif  // VDCONVERT_GRUB_IMAGES_H_
