// Text rendering shared by `vdconvert repair` and `vdconvert descriptor`: lint findings and
// repair edits, one block each, naming the line, key, value, consumers and messages.
#ifndef VDCONVERT_DESCRIPTOR_REPORT_H_
#define VDCONVERT_DESCRIPTOR_REPORT_H_

#include <string>
#include <vector>

#include "vdisk/vmdk_repair.h"

namespace vdconvert {

// "embedded descriptor: 10240 bytes at offset 512, 612 bytes of text" / "text descriptor ...".
std::string describe_area(const std::string& path, const vdisk::vmdk::DescriptorArea& area);
// "line 19 ddb.toolsInstallType = "4": error for MVMC: ... \n  MVMC says: ...".
std::string render_finding(const vdisk::vmdk::LintFinding& finding);
std::string render_edit(const vdisk::vmdk::RepairEdit& edit);

}  // namespace vdconvert

#endif  // VDCONVERT_DESCRIPTOR_REPORT_H_
