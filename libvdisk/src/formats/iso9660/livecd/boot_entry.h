// What a live ISO boots by default, as its own boot configuration states it (isolinux.cfg,
// syslinux.cfg or grub.cfg): shared by the configuration reader (boot_config.cpp), which fills
// it, and the GRUB repack (repack.cpp), which writes a grub.cfg from it. docs/livecd.md.
#ifndef VDISK_LIVECD_BOOT_ENTRY_H_
#define VDISK_LIVECD_BOOT_ENTRY_H_

#include <string>
#include <vector>

namespace vdisk::livecd {

struct BootEntry {
  std::string config_file;           // the ISO path it came from: "/isolinux/isolinux.cfg"
  std::string label;                 // the entry's label or menu title, for messages
  std::string kernel;                // absolute ISO path of the kernel: "/isolinux/vmlinuz0"
  std::vector<std::string> initrds;  // absolute ISO paths, in load order
  std::string append;                // the kernel command line, as the entry gives it
};

}  // namespace vdisk::livecd

#endif  // VDISK_LIVECD_BOOT_ENTRY_H_
