// The QCOW2 input driver's accessor, for the registry (image/registry.cpp).
#ifndef VDISK_QCOW2_QCOW2_DRIVER_H_
#define VDISK_QCOW2_QCOW2_DRIVER_H_

// The one include naming the FormatDriver contract's header (image/driver.h on this branch).
#include "image/driver.h"

namespace vdisk::detail {
const FormatDriver& qcow2_driver();
}  // namespace vdisk::detail

#endif  // VDISK_QCOW2_QCOW2_DRIVER_H_
