// The command table and what a running command gets from main().
#ifndef VDCONVERT_COMMANDS_H_
#define VDCONVERT_COMMANDS_H_

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <stop_token>
#include <string>
#include <vector>

#include "cli.h"
#include "console.h"
#include "vdisk/image.h"
#include "vdisk/status.h"

namespace vdconvert {

class SignalWatcher;

struct RunContext {
  Console& console;
  SignalWatcher* signals = nullptr;  // null when signals are not watched (tests)
  std::stop_token stop;
  bool stdin_is_terminal = false;
  bool stdout_is_terminal = false;
  bool stderr_is_terminal = false;
  std::optional<std::string> source_date_epoch;  // the environment variable, if set
};

// Every command, in help order.
std::span<const CommandSpec> command_table();

// The rows, one per cmd_*.cpp file.
const CommandSpec& convert_command();
const CommandSpec& info_command();
const CommandSpec& measure_command();
const CommandSpec& check_command();
const CommandSpec& repair_command();
const CommandSpec& descriptor_command();
const CommandSpec& iso_command();

// Prints a failed Status ("vdconvert: error: <message>", or "vdconvert: interrupted" for a
// cancellation) and returns its exit code.
int report_failure(RunContext& ctx, const vdisk::Status& status);

// Option helpers shared by several commands.
vdisk::Status apply_from(Command& cmd, std::string_view value);
vdisk::Status apply_json(Command& cmd, std::string_view value);
// -q/--quiet (every command): no notes (warnings and errors stay), no progress, no summary;
// -p/--progress (convert): a progress bar even when stderr is not a terminal.
vdisk::Status apply_quiet(Command& cmd, std::string_view value);
vdisk::Status apply_progress(Command& cmd, std::string_view value);
inline constexpr std::string_view kQuietHelp = "print no notes (warnings and errors still show)";
// The values of --from, --to, --for (check) and --for (repair, descriptor), for
// OptionSpec::choices.
std::vector<std::string_view> input_format_choices();
std::vector<std::string_view> target_choices();
std::vector<std::string_view> check_target_choices();
std::vector<std::string_view> consumer_choices();
// --force, --no-backup, and --for CONSUMER (mvmc, qemu, virtualbox, esxi, all) of repair and
// descriptor.
vdisk::Status apply_force(Command& cmd, std::string_view value);
vdisk::Status apply_no_backup(Command& cmd, std::string_view value);
vdisk::Status apply_consumer(Command& cmd, std::string_view value);
// --ignore-cid: read a VMDK chain whose parentCID differs from its parent's CID (also skips the
// VHD parent identity check); stored as the flag "ignore-cid".
vdisk::Status apply_ignore_cid(Command& cmd, std::string_view value);
inline constexpr std::string_view kIgnoreCidHelp =
    "read a snapshot chain whose parentCID does not match its parent's CID";
// OVA/OVF packages: --disk N (1-based, as `info` numbers the disks) and --no-verify (skip the
// manifest's digests); apply_package_options() copies them into OpenOptions.
vdisk::Status apply_disk(Command& cmd, std::string_view value);
vdisk::Status apply_no_verify(Command& cmd, std::string_view value);
void apply_package_options(const Command& cmd, vdisk::OpenOptions& options);
// The input formats' own options given on the command line (--boot, --kernel-args, ...; -o),
// and what they need from the machine (GRUB's images, built with grub-mkimage when asked for).
vdisk::Status apply_format_options(const Command& cmd, vdisk::OpenOptions& options);
inline constexpr OptionSpec kDiskOption{
    "--disk", "", "N", "OVA/OVF: read disk N of the package (1-based, as info lists them)",
    apply_disk};
inline constexpr OptionSpec kNoVerifyOption{
    "--no-verify", "", "", "OVA/OVF: do not check the manifest's (.mf) digests", apply_no_verify};
// True when an option's apply() stored `flag` in cmd.flags.
bool flag_set(const Command& cmd, std::string_view flag);
// Output-target options shared by convert and measure: --to TARGET, -o KEY=VALUE[,...], and
// one long option per key of the targets' own option tables (vdisk::TargetInfo::options:
// --level, --subformat, --adapter, --hw-version, --uuid, ...), generated from those tables.
vdisk::Status apply_to(Command& cmd, std::string_view value);
vdisk::Status apply_settings(Command& cmd, std::string_view value);
inline constexpr OptionSpec kSettingsOption{
    "--options", "-o", "KEY=VALUE,...",
    "the target's own options, as the --KEY options below (qemu-img's -o)", apply_settings};
// `fixed` with the generated target options and -o inserted where kSettingsOption stands.
std::span<const OptionSpec> with_target_options(std::span<const OptionSpec> fixed);
// Usage errors for target options given to a target they do not apply to.
vdisk::Status validate_target_options(const Command& cmd, std::string_view verb);
// The image id SOURCE_DATE_EPOCH pins (VHD unique id, VMDK uuid and CID).
std::array<std::uint8_t, 16> pinned_unique_id(std::int64_t epoch);
// The TargetOptions the command line asks for (SOURCE_DATE_EPOCH pins the timestamp and id).
vdisk::Result<vdisk::TargetOptions> make_target_options(const Command& cmd, const RunContext& ctx);
// Parses SOURCE_DATE_EPOCH (decimal seconds since 1970, >= 0).
vdisk::Result<std::int64_t> parse_source_date_epoch(std::string_view text);

}  // namespace vdconvert

#endif  // VDCONVERT_COMMANDS_H_
