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
      convert_command(), info_command(),       measure_command(), check_command(),
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
std::vector<std::string_view> subformat_choices() {
  return {"streamOptimized", "monolithicSparse"};
}
std::vector<std::string_view> adapter_choices() {
  return {"ide", "buslogic", "lsilogic", "legacyESX"};
}

vdisk::Status apply_to(Command& cmd, std::string_view value) {
  if (!vdisk::target_info(value).ok())
    return vdisk::invalid_argument(fmt::format("--to: unknown target '{}' (known: {})", value,
                                               fmt::join(vdisk::target_names(), ", ")));
  cmd.to = std::string(value);
  return {};
}

vdisk::Status apply_level(Command& cmd, std::string_view value) {
  if (value.size() != 1 || value[0] < '0' || value[0] > '9')
    return vdisk::invalid_argument(fmt::format("--level: '{}' is not a level 0..9", value));
  cmd.level = value[0] - '0';
  return {};
}

namespace {
vdisk::Status one_of(std::string_view option, std::string_view value,
                     const std::vector<std::string_view>& known) {
  if (std::find(known.begin(), known.end(), value) != known.end()) return {};
  return vdisk::invalid_argument(
      fmt::format("{}: unknown value '{}' (known: {})", option, value, fmt::join(known, ", ")));
}
}  // namespace

vdisk::Status apply_subformat(Command& cmd, std::string_view value) {
  VDISK_RETURN_IF_ERROR(one_of("--subformat", value, subformat_choices()));
  cmd.subformat = std::string(value);
  return {};
}

vdisk::Status apply_adapter(Command& cmd, std::string_view value) {
  VDISK_RETURN_IF_ERROR(one_of("--adapter", value, adapter_choices()));
  cmd.adapter = std::string(value);
  return {};
}

vdisk::Status apply_hw_version(Command& cmd, std::string_view value) {
  int v = 0;
  const auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
  if (value.empty() || ec != std::errc() || ptr != value.data() + value.size() || v < 4 || v > 99)
    return vdisk::invalid_argument(
        fmt::format("--hw-version: '{}' is not a hardware version 4..99", value));
  cmd.hw_version = v;
  return {};
}

vdisk::Status apply_vmdk_uuid(Command& cmd, std::string_view) {
  cmd.flags.emplace_back("vmdk-uuid");
  return {};
}

vdisk::Status validate_target_options(const Command& cmd, std::string_view verb) {
  const bool vmdk = cmd.to == "vmdk";
  if (cmd.level >= 0 && cmd.to != "gcp" && !vmdk)
    return vdisk::invalid_argument(fmt::format("{}: --level applies to --to gcp or vmdk", verb));
  if (cmd.level >= 0 && vmdk && cmd.subformat == "monolithicSparse")
    return vdisk::invalid_argument(
        fmt::format("{}: --level applies to a compressed VMDK (streamOptimized), not to "
                    "monolithicSparse",
                    verb));
  for (auto [given, name] : {std::pair{!cmd.subformat.empty(), "--subformat"},
                             std::pair{!cmd.adapter.empty(), "--adapter"},
                             std::pair{cmd.hw_version >= 0, "--hw-version"},
                             std::pair{flag_set(cmd, "vmdk-uuid"), "--uuid"}})
    if (given && !vmdk)
      return vdisk::invalid_argument(fmt::format("{}: {} applies to --to vmdk only", verb, name));
  return {};
}

// A reproducible build's image id: derived from SOURCE_DATE_EPOCH alone (splitmix64 over the
// value), with RFC 9562's variant bits and version 8 ("custom"), so the same input, options
// and SOURCE_DATE_EPOCH give the same bytes.
std::array<std::uint8_t, 16> pinned_unique_id(std::int64_t epoch) {
  std::uint64_t x = static_cast<std::uint64_t>(epoch) ^ 0x7664636f6e766572ull;  // "vdconver"
  std::array<std::uint8_t, 16> id{};
  for (std::size_t half = 0; half < 2; ++half) {
    x += 0x9E3779B97F4A7C15ull;
    std::uint64_t z = x;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    for (std::size_t i = 0; i < 8; ++i) id[half * 8 + i] = static_cast<std::uint8_t>(z >> (8 * i));
  }
  id[6] = static_cast<std::uint8_t>((id[6] & 0x0F) | 0x80);  // version 8
  id[8] = static_cast<std::uint8_t>((id[8] & 0x3F) | 0x80);  // variant
  return id;
}

vdisk::Result<vdisk::TargetOptions> make_target_options(const Command& cmd, const RunContext& ctx) {
  vdisk::TargetOptions o;
  if (ctx.source_date_epoch) {
    VDISK_ASSIGN_OR_RETURN(o.timestamp_unix, parse_source_date_epoch(*ctx.source_date_epoch));
    o.unique_id = pinned_unique_id(*o.timestamp_unix);
  }
  if (cmd.level >= 0) o.compression_level = cmd.level;
  o.compress_threads = cmd.threads;
  o.keep_gpt = cmd.keep_gpt;
  o.detect_zeroes = cmd.detect_zeroes;
  o.subformat = cmd.subformat;
  if (!cmd.adapter.empty()) o.adapter = cmd.adapter;
  if (cmd.hw_version >= 0) o.hw_version = cmd.hw_version;
  o.vmdk_identity_keys = flag_set(cmd, "vmdk-uuid");
  return o;
}
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

vdisk::Status apply_disk(Command& cmd, std::string_view value) {
  std::size_t n = 0;
  const auto* end = value.data() + value.size();
  const auto [ptr, ec] = std::from_chars(value.data(), end, n);
  if (value.empty() || ec != std::errc() || ptr != end || n < 1 || n > 1000000)
    return vdisk::invalid_argument(
        fmt::format("--disk: '{}' is not a disk number (1 for the first disk)", value));
  cmd.disk = n;
  return {};
}

vdisk::Status apply_no_verify(Command& cmd, std::string_view) {
  if (!flag_set(cmd, "no-verify")) cmd.flags.emplace_back("no-verify");
  return {};
}

void apply_package_options(const Command& cmd, vdisk::OpenOptions& options) {
  options.disk_index = cmd.disk > 0 ? cmd.disk - 1 : 0;
  options.verify_manifest = !flag_set(cmd, "no-verify");
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
