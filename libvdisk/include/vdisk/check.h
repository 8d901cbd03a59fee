// Post-write verification: re-read an output file and report every rule a consumer (a cloud,
// a hypervisor) applies to it, so a bad image is caught before anyone uploads it.
#ifndef VDISK_CHECK_H_
#define VDISK_CHECK_H_

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "vdisk/properties.h"
#include "vdisk/status.h"

namespace vdisk {

struct CheckItem {
  std::string rule;    // short statement of the rule, e.g. "virtual size is a whole MiB"
  bool passed = false;
  std::string detail;  // what was found, e.g. "1073741824 bytes = 1024 MiB"
};

struct CheckReport {
  std::string target;  // "azure", ...
  std::string path;
  std::vector<CheckItem> items;

  bool passed() const;
  Properties to_properties() const;
};

// Names accepted by check_image, e.g. "azure".
std::vector<std::string_view> check_targets();

// Checks `path` against the rules of `target`. Rules that fail are reported in the CheckReport,
// not as an error; an error means the check could not run (unknown target, unreadable file).
Result<CheckReport> check_image(const std::filesystem::path& path, std::string_view target);

}  // namespace vdisk

#endif  // VDISK_CHECK_H_
