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
inline constexpr OptionSpec kDiskOption{
    "--disk", "", "N", "OVA/OVF: read disk N of the package (1-based, as info lists them)",
    apply_disk};
inline constexpr OptionSpec kNoVerifyOption{
    "--no-verify", "", "", "OVA/OVF: do not check the manifest's (.mf) digests", apply_no_verify};
// True when an option's apply() stored `flag` in cmd.flags.
bool flag_set(const Command& cmd, std::string_view flag);
// Output-target options shared by convert and measure: --to TARGET, --level N (gcp, vmdk),
// --subformat, --adapter, --hw-version (vmdk).
vdisk::Status apply_to(Command& cmd, std::string_view value);
vdisk::Status apply_level(Command& cmd, std::string_view value);
vdisk::Status apply_subformat(Command& cmd, std::string_view value);
vdisk::Status apply_adapter(Command& cmd, std::string_view value);
vdisk::Status apply_hw_version(Command& cmd, std::string_view value);
inline constexpr OptionSpec kLevelOption{
    "--level", "", "N", "gcp, vmdk: compression level 0..9 (default gcp 2, vmdk 6; 9: smallest)",
    apply_level};
std::vector<std::string_view> subformat_choices();
std::vector<std::string_view> adapter_choices();
inline constexpr OptionSpec kSubformatOption{
    "--subformat",
    "",
    "NAME",
    "vmdk: streamOptimized (default; AWS, ESXi) or monolithicSparse (Workstation)",
    apply_subformat,
    false,
    subformat_choices};
inline constexpr OptionSpec kAdapterOption{
    "--adapter",   "",    "TYPE",         "vmdk: ddb.adapterType (default lsilogic)",
    apply_adapter, false, adapter_choices};
vdisk::Status apply_vmdk_uuid(Command& cmd, std::string_view value);
inline constexpr OptionSpec kVmdkUuidOption{
    "--uuid", "", "", "vmdk: also write ddb.uuid and ddb.longContentID (MVMC refuses them)",
    apply_vmdk_uuid};
inline constexpr OptionSpec kHwVersionOption{
    "--hw-version", "", "N", "vmdk: ddb.virtualHWVersion (default 14)", apply_hw_version};
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
