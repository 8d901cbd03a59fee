// Text rendering shared by `vdconvert repair` and `vdconvert descriptor`: lint findings and
// repair edits, one block each, naming the line, key, value, consumers and messages.
#ifndef VDCONVERT_DESCRIPTOR_REPORT_H_
#define VDCONVERT_DESCRIPTOR_REPORT_H_

#include <string>
#include <string_view>
#include <vector>

#include "vdisk/properties.h"
#include "vdisk/vmdk_repair.h"

namespace vdconvert {

// "embedded descriptor: 10240 bytes at offset 512, 612 bytes of text" / "text descriptor ...".
std::string describe_area(const std::string& path, const vdisk::vmdk::DescriptorArea& area);
// "line 19 ddb.toolsInstallType = "4": error for MVMC: ... \n  MVMC says: ...".
std::string render_finding(const vdisk::vmdk::LintFinding& finding);
std::string render_edit(const vdisk::vmdk::RepairEdit& edit);

// The same for --json (rendered by vdisk::Properties, like `info --json`; docs/json.md).
// Descriptor text is not always UTF-8 (encoding="windows-1252"): Properties::to_json turns
// bytes that are not UTF-8 into U+FFFD, so the output stays valid JSON.
//   area:    embedded, offset, size, text_bytes, free_bytes (embedded only)
//   finding: line, rule, severity, key, value, consumers [names], message, detail, fixable
//   edit:    line, action, rule, key, value, consumers [names], reason, prevents,
//            mvmc_message (MVMC's own error text, when MVMC refused the line), before, after
void add_area_json(vdisk::Properties& p, const vdisk::vmdk::DescriptorArea& area);
void add_finding_json(vdisk::Properties& p, const vdisk::vmdk::LintFinding& finding);
void add_edit_json(vdisk::Properties& p, const vdisk::vmdk::RepairEdit& edit);
// Consumer mask -> list of names under `key`.
void add_consumers_json(vdisk::Properties& p, std::string_view key, unsigned mask);

}  // namespace vdconvert

#endif  // VDCONVERT_DESCRIPTOR_REPORT_H_
