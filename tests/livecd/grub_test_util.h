// GRUB's images for the repack tests (repack_test.cpp, repack_stream_test.cpp): built once per
// test program with the machine's grub-mkimage (tools/vdconvert/grub_images.h), as vdconvert
// builds them; a machine without GRUB's packages fails the tests that need them.
#ifndef VDISK_TESTS_LIVECD_GRUB_TEST_UTIL_H_
#define VDISK_TESTS_LIVECD_GRUB_TEST_UTIL_H_

#include <catch2/catch.hpp>

#include "../../tools/vdconvert/grub_images.h"
#include "formats/iso9660/livecd/repack.h"

namespace vdisk::test {

inline const vdconvert::GrubImages& grub() {
  static const vdconvert::GrubImages images = [] {
    auto r = vdconvert::build_grub_images();
    if (!r.ok()) FAIL(r.status().to_string());
    return std::move(r).value();
  }();
  return images;
}

inline livecd::RepackImages images_of(const vdconvert::GrubImages& g) {
  return {g.boot_image, g.core_image, g.efi_image};
}

}  // namespace vdisk::test

#endif  // VDISK_TESTS_LIVECD_GRUB_TEST_UTIL_H_
