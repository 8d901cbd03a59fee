// Real-looking descriptors for the lint and repair tests: as qemu-img 7.2, VMware Workstation
// (toolsInstallType 0..4, ddb.uuid, longContentID), VirtualBox (ddb.uuid.*, no spaces around
// '=') and KIWI (qemu's descriptor with toolsInstallType/toolsVersion appended) write them.
#ifndef VDISK_TESTS_VMDK_REPAIR_SAMPLES_H_
#define VDISK_TESTS_VMDK_REPAIR_SAMPLES_H_

#include <string>

namespace vdisk::vmdk::test {

inline constexpr const char* kQemuMonolithicSparse =
    "# Disk DescriptorFile\n"
    "version=1\n"
    "CID=52b6e3a1\n"
    "parentCID=ffffffff\n"
    "createType=\"monolithicSparse\"\n"
    "\n"
    "# Extent description\n"
    "RW 204800 SPARSE \"disk.vmdk\"\n"
    "\n"
    "# The Disk Data Base\n"
    "#DDB\n"
    "\n"
    "ddb.virtualHWVersion = \"4\"\n"
    "ddb.geometry.cylinders = \"203\"\n"
    "ddb.geometry.heads = \"16\"\n"
    "ddb.geometry.sectors = \"63\"\n"
    "ddb.adapterType = \"ide\"\n"
    "ddb.toolsVersion = \"2147483647\"\n";

// VMware Workstation style (CRLF-free), with the given toolsInstallType.
inline std::string vmware_descriptor(const std::string& tools_install_type,
                                     const std::string& create_type = "monolithicSparse",
                                     const std::string& extent = "RW 204800 SPARSE \"disk.vmdk\"") {
  return "# Disk DescriptorFile\n"
         "version=1\n"
         "encoding=\"UTF-8\"\n"
         "CID=fffffffe\n"
         "parentCID=ffffffff\n"
         "isNativeSnapshot=\"no\"\n"
         "createType=\"" + create_type + "\"\n"
         "\n"
         "# Extent description\n" + extent + "\n"
         "\n"
         "# The Disk Data Base \n"
         "#DDB\n"
         "\n"
         "ddb.adapterType = \"lsilogic\"\n"
         "ddb.geometry.cylinders = \"12\"\n"
         "ddb.geometry.heads = \"255\"\n"
         "ddb.geometry.sectors = \"63\"\n"
         "ddb.toolsInstallType = \"" + tools_install_type + "\"\n"
         "ddb.toolsVersion = \"10346\"\n"
         "ddb.uuid = \"60 00 C2 9c 1e 2d 3f 44-5a 6b 7c 8d 9e af b0 c1\"\n"
         "ddb.longContentID = \"1bd5e2bb1fe0dd5f1b8d0e6ffffffffe\"\n"
         "ddb.virtualHWVersion = \"16\"\n";
}

inline constexpr const char* kVirtualBoxDescriptor =
    "# Disk DescriptorFile\n"
    "version=1\n"
    "CID=3a5b7c9d\n"
    "parentCID=ffffffff\n"
    "createType=\"monolithicSparse\"\n"
    "\n"
    "# Extent description\n"
    "RW 204800 SPARSE \"vbox.vmdk\"\n"
    "\n"
    "# The disk Data Base \n"
    "#DDB\n"
    "\n"
    "ddb.virtualHWVersion=\"4\"\n"
    "ddb.adapterType=\"ide\"\n"
    "ddb.uuid.image=\"9f0c2a5e-6d1b-4c3a-8e7f-0a1b2c3d4e5f\"\n"
    "ddb.uuid.parent=\"00000000-0000-0000-0000-000000000000\"\n"
    "ddb.uuid.modification=\"00000000-0000-0000-0000-000000000000\"\n"
    "ddb.uuid.parentmodification=\"00000000-0000-0000-0000-000000000000\"\n"
    "ddb.geometry.cylinders=\"203\"\n"
    "ddb.geometry.heads=\"16\"\n"
    "ddb.geometry.sectors=\"63\"\n";

// KIWI: qemu's descriptor with its two lines appended.
inline std::string kiwi_descriptor(const std::string& tools_install_type) {
  return std::string(kQemuMonolithicSparse) + "ddb.toolsInstallType = \"" + tools_install_type +
         "\"\n";
}

// A standalone descriptor with the given createType line and extent line.
inline std::string flat_descriptor(const std::string& create_type_line, const std::string& extent) {
  return "# Disk DescriptorFile\n"
         "version=1\n"
         "CID=12345678\n"
         "parentCID=ffffffff\n" +
         create_type_line + "\n\n# Extent description\n" + extent +
         "\n\n# The Disk Data Base \n#DDB\n\nddb.adapterType = \"lsilogic\"\n";
}

}  // namespace vdisk::vmdk::test

#endif  // VDISK_TESTS_VMDK_REPAIR_SAMPLES_H_
