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
#include "command_args.h"
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

// Checked stores of the values several commands take; each F of a shared row below forwards to
// one of these with the right member of its command's struct.
vdisk::Status parse_input_format(std::string& out, std::string_view value);  // --from
vdisk::Status parse_target(std::string& out, std::string_view value);        // --to
vdisk::Status parse_consumer(ConsumerArg& out, std::string_view value);      // --for CONSUMER
vdisk::Status parse_disk(std::size_t& out, std::string_view value);          // --disk
// -o KEY=VALUE[,KEY=VALUE...], appended to `out` in order.
vdisk::Status parse_settings(KeyValues& out, std::string_view value);
// -q/--quiet (every command): no notes (warnings and errors stay), no progress, no summary;
// -p/--progress (convert): a progress bar even when stderr is not a terminal ("" or "bar");
// --progress=json: JSON lines on stderr; --progress=json:FD: on descriptor FD (checked when
// the command runs: open for writing).
vdisk::Status set_quiet_mode(CommandArgs& args);
vdisk::Status set_progress_mode(CommandArgs& args, std::string_view value);

// Store functions (OptionSpec::apply through store<F>) for any arguments struct with the
// member they name.
template <class Args>
vdisk::Status set_quiet(Args& a, std::string_view) {
  return set_quiet_mode(a);
}
template <class Args>
vdisk::Status set_progress(Args& a, std::string_view v) {
  return set_progress_mode(a, v);
}
template <class Args>
vdisk::Status set_from(Args& a, std::string_view v) {
  return parse_input_format(a.input.format, v);
}
template <class Args>
vdisk::Status set_to(Args& a, std::string_view v) {
  return parse_target(a.target.name, v);
}
template <class Args>
vdisk::Status set_ignore_cid(Args& a, std::string_view) {
  a.input.ignore_cid = true;
  return {};
}
template <class Args>
vdisk::Status set_disk(Args& a, std::string_view v) {
  return parse_disk(a.input.disk, v);
}
template <class Args>
vdisk::Status set_no_verify(Args& a, std::string_view) {
  a.input.no_verify = true;
  return {};
}
template <class Args>
vdisk::Status set_settings(Args& a, std::string_view v) {
  return parse_settings(a.target.settings, v);
}
// A generated --KEY option: its key (OptionSpec::setting) and value, in order.
template <class Args>
vdisk::Status add_setting(Args& a, const OptionSpec& opt, std::string_view v) {
  a.target.settings.emplace_back(opt.setting, v);
  return {};
}
template <class Args>
vdisk::Status set_consumer(Args& a, std::string_view v) {
  return parse_consumer(a.consumer, v);
}

inline constexpr std::string_view kQuietHelp = "print no notes (warnings and errors still show)";
// The values of --from, --to, --for (check) and --for (repair, descriptor), for
// OptionSpec::choices.
std::vector<std::string_view> input_format_choices();
std::vector<std::string_view> target_choices();
std::vector<std::string_view> check_target_choices();
std::vector<std::string_view> consumer_choices();

// Rows shared by the commands that open an image (their Args has an InputArgs `input`).
template <class Args>
inline constexpr OptionSpec kFromOption{"--from",
                                        "-f",
                                        "FMT",
                                        "input format (default: probe)",
                                        store<set_from<Args>>,
                                        false,
                                        input_format_choices};
// --ignore-cid: read a VMDK chain whose parentCID differs from its parent's CID (also skips the
// VHD parent identity check).
inline constexpr std::string_view kIgnoreCidHelp =
    "read a snapshot chain whose parentCID does not match its parent's CID";
template <class Args>
inline constexpr OptionSpec kIgnoreCidOption{"--ignore-cid", "", "", kIgnoreCidHelp,
                                             store<set_ignore_cid<Args>>};
// OVA/OVF packages: --disk N (1-based, as `info` numbers the disks) and --no-verify (skip the
// manifest's digests).
template <class Args>
inline constexpr OptionSpec kDiskOption{
    "--disk", "", "N", "OVA/OVF: read disk N of the package (1-based, as info lists them)",
    store<set_disk<Args>>};
template <class Args>
inline constexpr OptionSpec kNoVerifyOption{"--no-verify", "", "",
                                            "OVA/OVF: do not check the manifest's (.mf) digests",
                                            store<set_no_verify<Args>>};
// The input formats' own options given on the command line (--boot, --kernel-args, ...; -o),
// and what they need from the machine (GRUB's images, built with grub-mkimage when asked for).
vdisk::Status apply_format_options(const TargetArgs& target, vdisk::OpenOptions& options);

// Output-target options shared by convert and measure (their Args has a TargetArgs `target`):
// --to TARGET, -o KEY=VALUE[,...], and one long option per key of the targets' and input
// formats' own option tables (vdisk::TargetInfo::options: --level, --subformat, --adapter,
// --hw-version, --uuid, ...), generated from those tables.
template <class Args>
inline constexpr OptionSpec kSettingsOption{
    "--options",
    "-o",
    "KEY=VALUE,...",
    "the target's own options, as the --KEY options below (qemu-img's -o; repeatable)",
    store<set_settings<Args>>,
    false,
    nullptr,
    {},
    {},
    true};
// The generated rows, without a store (`setting` holds the key), in help order.
const std::vector<OptionSpec>& generated_options();
// `fixed` with the generated rows, bound to Args, inserted after its -o row (the row named
// `after`); kept for the process's life.
std::span<const OptionSpec> insert_generated(std::span<const OptionSpec> fixed,
                                             std::string_view after, OptionStore apply);
template <class Args>
std::span<const OptionSpec> with_target_options(std::span<const OptionSpec> fixed) {
  return insert_generated(fixed, kSettingsOption<Args>.name, store<add_setting<Args>>);
}
// Usage errors for target options given to a target they do not apply to.
vdisk::Status validate_target_options(const TargetArgs& target, std::string_view verb);
// The image id SOURCE_DATE_EPOCH pins (VHD unique id, VMDK uuid and CID).
std::array<std::uint8_t, 16> pinned_unique_id(std::int64_t epoch);
// `base` with what the command line asks for: SOURCE_DATE_EPOCH pins the timestamp and id, then
// the target's settings.
vdisk::Result<vdisk::TargetOptions> make_target_options(const TargetArgs& target,
                                                        const RunContext& ctx,
                                                        vdisk::TargetOptions base = {});
// Parses SOURCE_DATE_EPOCH (decimal seconds since 1970, >= 0).
vdisk::Result<std::int64_t> parse_source_date_epoch(std::string_view text);

}  // namespace vdconvert

#endif  // VDCONVERT_COMMANDS_H_
