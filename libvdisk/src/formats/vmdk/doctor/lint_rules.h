// The descriptor lint's rules, one group per consumer (lint_mvmc.cpp, lint_qemu.cpp,
// lint_virtualbox.cpp, lint_esxi.cpp), over one shared context (descriptor_lint.cpp). Internal:
// the public API is lint_descriptor() in vdisk/vmdk_repair.h, which calls the groups in a fixed
// order; findings are then stable-sorted by line, so the order below is the order of findings
// that share a line.
#ifndef VDISK_VMDK_LINT_RULES_H_
#define VDISK_VMDK_LINT_RULES_H_

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "vdisk/vmdk.h"
#include "vdisk/vmdk_repair.h"
#include "formats/vmdk/doctor/descriptor_lint.h"

namespace vdisk::vmdk::lint {

// What every rule reads (the parsed descriptor, its raw text and lines, the options) and where
// it writes (the findings).
class LintContext {
 public:
  LintContext(const Descriptor& d, std::string_view t, const LintOptions& o)
      : descriptor(d), text(text_before_nul(t)), options(o), raw(split_lines(t)) {}

  // Appends a finding and returns it so the caller can set key and value.
  LintFinding& add(std::string rule, std::size_t line, unsigned consumers, LintSeverity severity,
                   bool fixable, std::string detail, std::string message = {});
  // Line `number` (1-based) as written, without its line end; empty when out of range.
  std::string_view body(std::size_t number) const;
  // The 1-based line holding byte `at` of the text; 0 past the end.
  std::size_t line_of_offset(std::size_t at) const;

  const Descriptor& descriptor;
  const std::string_view text;  // up to the first NUL
  const LintOptions& options;
  const std::vector<RawLine> raw;
  std::vector<LintFinding> findings;
};

// VirtualBox (lint_virtualbox.cpp): the first line; descriptor version 1; entry order, strict
// extent syntax, one extent per embedded descriptor and room for its ddb.uuid.* keys.
void lint_virtualbox_first_line(LintContext& c);
void lint_virtualbox_version(LintContext& c);
void lint_virtualbox_structure(LintContext& c);

// VMware ESXi / Workstation (lint_esxi.cpp): createType present and known; a text descriptor
// starts with 'version=N' (also qemu's format probe).
void lint_esxi_create_type(LintContext& c);
void lint_esxi_version_first(LintContext& c);

// qemu (lint_qemu.cpp): its byte-literal look-ups of CID, parentCID and parentFileNameHint;
// for text descriptors also createType and the extent lines.
void lint_qemu_identity(LintContext& c);
void lint_qemu_extents(LintContext& c);

// MVMC (lint_mvmc.cpp): every ddb key outside the kept set, with MVMC's message.
void lint_mvmc_ddb_entries(LintContext& c);

// qemu and VirtualBox (descriptor_lint.cpp): header keys written in another case.
void lint_key_case(LintContext& c);

}  // namespace vdisk::vmdk::lint

#endif  // VDISK_VMDK_LINT_RULES_H_
