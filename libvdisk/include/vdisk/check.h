// Post-write verification: re-read an output file and report every rule a consumer (a cloud,
// a hypervisor) applies to it, so a bad image is caught before anyone uploads it.
//
// Targets (check_targets()):
// - "azure", "gcp": the cloud's rules for an uploaded VHD / image tarball.
// - "vmdk": structural rules of a VMDK and its whole snapshot chain (qemu-img check style), plus
//   the descriptor lint findings of every descriptor in the chain, one item per finding naming
//   the consumer that rejects it (MVMC, qemu, VirtualBox, ESXi), the file, line and key. Under
//   "vmdk" lint findings are warnings: they are reported but do not fail the check, because
//   "vmdk" answers "is this image sound", and sound images made by VMware carry ddb keys that
//   MVMC rejects.
// - "qcow2": the structural problems a reader can see in a QCOW2 image (header, tables inside
//   the file, L2 entries, overlapping clusters, used clusters with refcount 0; docs/qcow2.md).
// - "mvmc", "qemu", "virtualbox", "esxi": the same structural rules plus only that consumer's
//   lint findings; a finding the lint rates an error fails the check (the consumer would refuse
//   or misread the disk), one it rates a warning is reported as a warning.
#ifndef VDISK_CHECK_H_
#define VDISK_CHECK_H_

#include <cstddef>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "vdisk/io.h"
#include "vdisk/properties.h"
#include "vdisk/status.h"

namespace vdisk {

enum class CheckSeverity : unsigned char {
  error,    // a failed item fails the report
  warning,  // a failed item is reported ("WARN") but does not fail the report
};

struct CheckItem {
  CheckItem() = default;
  CheckItem(std::string rule_text, bool ok, std::string detail_text,
            CheckSeverity sev = CheckSeverity::error)
      : rule(std::move(rule_text)), passed(ok), detail(std::move(detail_text)), severity(sev) {}

  std::string rule;  // short statement of the rule, e.g. "virtual size is a whole MiB"
  // Stable machine id of the rule, e.g. "azure.size_whole_mib", "gcp.single_member",
  // "vmdk.gt_past_end", "vmdk.lint.mvmc-ddb-entry" (JSON "rule"; all listed in docs/json.md).
  std::string id;
  bool passed = false;
  std::string detail;  // what was found, e.g. "1073741824 bytes = 1024 MiB"
  CheckSeverity severity = CheckSeverity::error;  // what a failure of this item means
  // Structured facts for machine readers (JSON "facts"), e.g. a lint finding's file, line, key,
  // value, consumers and the consumer's own message. Often empty.
  Properties facts;

  // True when the item failed and counts as a failure of the report.
  bool fails() const { return !passed && severity == CheckSeverity::error; }
  // True when the item failed but is only a warning.
  bool warns() const { return !passed && severity == CheckSeverity::warning; }
};

struct CheckReport {
  std::string target;  // "azure", ...
  std::string path;
  std::vector<CheckItem> items;

  // No item fails (warnings allowed) and at least one item was checked.
  bool passed() const;
  std::size_t failures() const;
  std::size_t warnings() const;
  // target, path, passed, failures, warnings, rules [rule (the id), statement, passed,
  // severity (only on an item that fails or warns: "error" or "warning"), detail, facts?]
  // (docs/json.md, "check").
  Properties to_properties() const;
};

// Names accepted by check_image, e.g. "azure".
std::vector<std::string_view> check_targets();

struct CheckOptions {
  // VMDK chains: a parentCID that differs from its parent's CID (the reader's
  // OpenOptions::ignore_parent_identity override) is reported as a warning, not a failure.
  bool ignore_parent_identity = false;
};

// Checks `path` against the rules of `target`. Rules that fail are reported in the CheckReport,
// not as an error; an error means the check could not run (unknown target, unreadable file).
Result<CheckReport> check_image(const std::filesystem::path& path, std::string_view target,
                                const CheckOptions& options = {});

// The same on a file the caller opened (a remote object, vdisk/remote.h), named `display` in the
// report; the image can name no other file (a VMDK descriptor's extents are not found). Each rule
// set reads only what its rules need (a blob's footer and boot sectors; a tarball, front to back).
Result<CheckReport> check_image(std::unique_ptr<RandomAccessFile> file, const std::string& display,
                                std::string_view target, const CheckOptions& options = {});

// The check target that fits `path` when the user names none: "vmdk" for a VMDK (sparse
// extent, COWD or descriptor); invalid_argument naming the probed format for any other (a cloud
// target must be chosen explicitly).
Result<std::string> default_check_target(const std::filesystem::path& path);
Result<std::string> default_check_target(const RandomAccessFile& file, std::string_view display);

}  // namespace vdisk

#endif  // VDISK_CHECK_H_
