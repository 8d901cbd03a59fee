// The check contract: each folder that verifies a kind of file (a cloud's upload rules, a
// format's structure, a consumer's descriptor rules) declares its rule sets as CheckRuleSet
// values; image/check.cpp lists them once and check_image() is a loop over that list. This header
// sits below the format folders and the facade (image/) above them.
#ifndef VDISK_CONTRACT_CHECK_RULES_H_
#define VDISK_CONTRACT_CHECK_RULES_H_

#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "vdisk/check.h"
#include "vdisk/io.h"
#include "vdisk/status.h"

namespace vdisk::detail {

struct CheckRuleSet {
  std::string_view name;  // as check --for spells it
  // The format probe_format() names for which this is the rule set when none is asked for
  // (`vdconvert check FILE`), or empty: a cloud's rules must be asked for by name.
  std::string_view default_for_format;
  // Reads `file` and reports every rule of the set; an error only when the check cannot run
  // (unreadable file). `path` locates the files the image names (empty for a remote object:
  // it names none it can reach); `display` names it in the report. `name` is this set's name
  // (one function may serve several sets).
  Result<CheckReport> (*run)(std::unique_ptr<RandomAccessFile> file,
                             const std::filesystem::path& path, const std::string& display,
                             std::string_view name, const CheckOptions& options);
};

// One accessor per folder, in its folder.
const CheckRuleSet& azure_rules();  // formats/vhd/azure_check.cpp
const CheckRuleSet& gcp_rules();    // formats/gcp/gcp_check.cpp
const CheckRuleSet& aws_rules();    // remote/aws/vm_import_check.cpp
const CheckRuleSet& qcow2_rules();  // formats/qcow2/qcow2_check.cpp
std::span<const CheckRuleSet>
vmdk_rule_sets();  // formats/vmdk/doctor/vmdk_check.cpp: vmdk and the consumers

// Every rule set in help order (image/check.cpp).
std::span<const CheckRuleSet* const> check_rule_sets();

}  // namespace vdisk::detail

#endif  // VDISK_CONTRACT_CHECK_RULES_H_
