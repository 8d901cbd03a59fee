// Options that belong to one driver (an output target, an input format), declared by that driver
// as a table of rows and set as `key=value` text, as qemu-img's `-o` and libarchive's format
// options do. A driver's table is the whole truth about its options: the library validates
// values against it, the driver reads them through it, and vdconvert generates its long
// options, `-o` keys, help, man page and completion from the same rows. Adding an option to a
// target is one row in that target's table (and the code that reads it).
//
// Values are kept as the text the caller gave; OptionValues holds them for one driver. Reading a
// value that was never set gives the row's default.
#ifndef VDISK_OPTIONS_H_
#define VDISK_OPTIONS_H_

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "vdisk/status.h"

namespace vdisk {

enum class OptionKind : std::uint8_t {
  flag,    // no value on the command line; as key=value: on|off|yes|no|true|false|1|0
  number,  // a decimal integer within [min, max]
  choice,  // one of `choices`
  text,    // any text up to 4096 bytes
};

// One row of a driver's option table.
struct OptionSpec {
  std::string_view key = {};  // "adapter": lowercase words joined by '-'
  OptionKind kind = OptionKind::flag;
  std::string_view metavar = {};   // "TYPE", "N"; empty for a flag
  std::string_view help = {};      // one line, without the default
  std::string_view fallback = {};  // the value when none is given ("" for a flag: off)
  std::span<const std::string_view> choices = {};  // choice: the accepted values
  std::int64_t min = 0;                            // number: inclusive range
  std::int64_t max = 0;
};

// The values set for one driver, in the order they were given (a key set twice keeps the last).
class OptionValues {
 public:
  void set(std::string_view key, std::string_view value);
  // The value given for `key`, or nullopt.
  std::optional<std::string_view> given(std::string_view key) const;
  bool empty() const { return items_.empty(); }
  const std::vector<std::pair<std::string, std::string>>& items() const { return items_; }

 private:
  std::vector<std::pair<std::string, std::string>> items_;
};

// The row of `table` named `key`, or nullptr.
const OptionSpec* find_option(std::span<const OptionSpec> table, std::string_view key);

// Checks `value` against `row` (an empty value sets a flag): invalid_argument naming `owner`
// (e.g. "vmdk"), the key, the value and what the row accepts.
Status check_option_value(const OptionSpec& row, std::string_view owner, std::string_view value);

// Sets key=value in `values` after checking that `table` has the key (invalid_argument naming
// the keys it has) and that the value fits the row.
Status set_option(std::span<const OptionSpec> table, std::string_view owner, OptionValues& values,
                  std::string_view key, std::string_view value);

// Parses "key=value[,key=value...]" (a flag may stand alone: "uuid") into `values`, each as
// set_option() does. A value cannot hold ','.
Status parse_options(std::span<const OptionSpec> table, std::string_view owner,
                     OptionValues& values, std::string_view text);

// Checks every value in `values` against `table` (unknown keys, bad values).
Status check_options(std::span<const OptionSpec> table, std::string_view owner,
                     const OptionValues& values);

// Reading values through their row (the row's fallback when not given). The key must be a row
// of `table` of the right kind (internal_error otherwise: a driver bug, not a user error).
Result<std::int64_t> option_number(std::span<const OptionSpec> table, const OptionValues& values,
                                   std::string_view key);
Result<bool> option_flag(std::span<const OptionSpec> table, const OptionValues& values,
                         std::string_view key);
Result<std::string> option_text(std::span<const OptionSpec> table, const OptionValues& values,
                                std::string_view key);

}  // namespace vdisk

#endif  // VDISK_OPTIONS_H_
