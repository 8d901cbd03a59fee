// `check --for qcow2`: the structural problems a reader can see in a qcow2 image, in the spirit
// of `qemu-img check`: header and tables inside the file, every L2 entry of the active layer
// aligned and inside its file, no two clusters overlapping (metadata with metadata or data,
// data with data), and no used cluster with a refcount of zero. Internal snapshots' tables are
// not walked (their clusters are not reported as leaks or overlaps).
#ifndef VDISK_QCOW2_QCOW2_CHECK_H_
#define VDISK_QCOW2_QCOW2_CHECK_H_

#include <filesystem>
#include <string>

#include "vdisk/check.h"
#include "vdisk/io.h"

namespace vdisk::qcow2 {

// Checks the qcow2 image in `file` (check target "qcow2"); `name` is used in the report. Every
// structural problem is a failed item, one item per rule, naming the structure and offset of
// the first few problems.
CheckReport check_qcow2_file(const RandomAccessFile& file, const std::string& name);

}  // namespace vdisk::qcow2

#endif  // VDISK_QCOW2_QCOW2_CHECK_H_
