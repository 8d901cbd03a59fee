// The command table: one row per command. A new command adds its cmd_<name>.cpp and a row here.
#include "commands.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>

#include "exit_codes.h"
#include "vdisk/check.h"
#include "vdisk/image.h"
#include "vdisk/vmdk_repair.h"

namespace vdconvert {

std::span<const CommandSpec> command_table() {
  static const CommandSpec table[] = {
      convert_command(), info_command(),       check_command(),
      repair_command(),  descriptor_command(), iso_command(),
  };
  return table;
}

int report_failure(RunContext& ctx, const vdisk::Status& status) {
  if (status.code() == vdisk::Errc::cancelled)
    ctx.console.line("vdconvert: interrupted");
  else
    ctx.console.error(status.message().empty() ? std::string(vdisk::errc_name(status.code()))
                                               : status.message());
  return exit_code_for(status.code());
}

vdisk::Status apply_from(Command& cmd, std::string_view value) {
  const auto formats = vdisk::input_formats();
  if (std::find(formats.begin(), formats.end(), value) == formats.end())
    return vdisk::invalid_argument(fmt::format("--from: unknown input format '{}' (known: {})",
                                               value, fmt::join(formats, ", ")));
  cmd.from = std::string(value);
  return {};
}

vdisk::Status apply_json(Command& cmd, std::string_view) {
  cmd.json = true;
  return {};
}

vdisk::Status apply_quiet(Command& cmd, std::string_view) {
  if (cmd.progress == ProgressMode::always)
    return vdisk::invalid_argument("--progress and --quiet cannot be used together");
  cmd.progress = ProgressMode::never;
  cmd.quiet = true;
  return {};
}

vdisk::Status apply_progress(Command& cmd, std::string_view) {
  if (cmd.progress == ProgressMode::never)
    return vdisk::invalid_argument("--progress and --quiet cannot be used together");
  cmd.progress = ProgressMode::always;
  return {};
}

std::vector<std::string_view> input_format_choices() { return vdisk::input_formats(); }
std::vector<std::string_view> target_choices() { return vdisk::target_names(); }
std::vector<std::string_view> check_target_choices() { return vdisk::check_targets(); }
std::vector<std::string_view> consumer_choices() {
  return {"mvmc", "qemu", "virtualbox", "esxi", "all"};
}

vdisk::Status apply_force(Command& cmd, std::string_view) {
  cmd.force = true;
  return {};
}

vdisk::Status apply_no_backup(Command& cmd, std::string_view) {
  cmd.no_backup = true;
  return {};
}

vdisk::Status apply_consumer(Command& cmd, std::string_view value) {
  if (!vdisk::vmdk::parse_consumer(value))
    return vdisk::invalid_argument(fmt::format(
        "--for: unknown consumer '{}' (known: mvmc, qemu, virtualbox, esxi, all)", value));
  cmd.check_for = std::string(value);
  return {};
}

vdisk::Status apply_ignore_cid(Command& cmd, std::string_view) {
  if (!flag_set(cmd, "ignore-cid")) cmd.flags.emplace_back("ignore-cid");
  return {};
}

bool flag_set(const Command& cmd, std::string_view flag) {
  return std::find(cmd.flags.begin(), cmd.flags.end(), flag) != cmd.flags.end();
}

vdisk::Result<std::int64_t> parse_source_date_epoch(std::string_view text) {
  std::int64_t v = 0;
  const auto* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, v);
  if (text.empty() || ec != std::errc() || ptr != end || v < 0)
    return vdisk::invalid_argument(
        fmt::format("SOURCE_DATE_EPOCH: '{}' is not a whole number of seconds since 1970", text));
  return v;
}

}  // namespace vdconvert
