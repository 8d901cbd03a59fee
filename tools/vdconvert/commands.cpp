// The command table: one row per command. A new command adds its cmd_<name>.cpp and a row here.
#include "commands.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <deque>

#include "exit_codes.h"
#include "grub_images.h"
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

vdisk::Status parse_input_format(std::string& out, std::string_view value) {
  const auto formats = vdisk::input_formats();
  if (std::find(formats.begin(), formats.end(), value) == formats.end())
    return vdisk::invalid_argument(fmt::format("--from: unknown input format '{}' (known: {})",
                                               value, fmt::join(formats, ", ")));
  out = std::string(value);
  return {};
}

vdisk::Status set_quiet_mode(CommandArgs& args) {
  if (args.progress == ProgressMode::always || args.progress == ProgressMode::json)
    return vdisk::invalid_argument("--progress and --quiet cannot be used together");
  args.progress = ProgressMode::never;
  args.quiet = true;
  return {};
}

vdisk::Status set_progress_mode(CommandArgs& args, std::string_view value) {
  if (args.progress == ProgressMode::never)
    return vdisk::invalid_argument("--progress and --quiet cannot be used together");
  if (value.empty() || value == "bar") {
    args.progress = ProgressMode::always;
    return {};
  }
  if (value == "json") {
    args.progress = ProgressMode::json;
    args.progress_fd = 2;
    return {};
  }
  if (value.starts_with("json:")) {
    const std::string_view digits = value.substr(5);
    int fd = -1;
    const auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), fd);
    if (digits.empty() || ec != std::errc() || ptr != digits.data() + digits.size() || fd < 0)
      return vdisk::invalid_argument(
          fmt::format("--progress={}: '{}' is not a file descriptor number", value, digits));
    args.progress = ProgressMode::json;
    args.progress_fd = fd;
    return {};
  }
  return vdisk::invalid_argument(
      fmt::format("--progress={}: unknown progress format (known: bar, json, json:FD)", value));
}

std::vector<std::string_view> input_format_choices() { return vdisk::input_formats(); }
std::vector<std::string_view> target_choices() { return vdisk::target_names(); }
vdisk::Status parse_target(std::string& out, std::string_view value) {
  if (!vdisk::target_info(value).ok())
    return vdisk::invalid_argument(fmt::format("--to: unknown target '{}' (known: {})", value,
                                               fmt::join(vdisk::target_names(), ", ")));
  out = std::string(value);
  return {};
}

vdisk::Status parse_settings(KeyValues& out, std::string_view value) {
  std::size_t i = 0;
  while (i <= value.size()) {
    std::size_t j = value.find(',', i);
    if (j == std::string_view::npos) j = value.size();
    const std::string_view item = value.substr(i, j - i);
    const std::size_t eq = item.find('=');
    if (item.empty() || eq == 0)
      return vdisk::invalid_argument(
          fmt::format("-o: '{}' is not KEY=VALUE[,KEY=VALUE...]", value));
    if (eq == std::string_view::npos)
      out.emplace_back(std::string(item), "");
    else
      out.emplace_back(std::string(item.substr(0, eq)), std::string(item.substr(eq + 1)));
    i = j + 1;
  }
  return {};
}

namespace {

// The drivers whose option tables have `key`: targets (by --to name) or input formats.
struct Owners {
  std::vector<std::string_view> targets;
  std::vector<std::string_view> formats;
  bool empty() const { return targets.empty() && formats.empty(); }
};

Owners owners_of(std::string_view key) {
  Owners o;
  for (const auto name : vdisk::target_names())
    if (auto t = vdisk::target_info(name); t.ok() && vdisk::find_option(t->options, key))
      o.targets.push_back(name);
  for (const auto name : vdisk::input_formats())
    if (auto rows = vdisk::input_format_options(name); rows.ok() && vdisk::find_option(*rows, key))
      o.formats.push_back(name);
  return o;
}

// "--to vmdk only", "--to gcp or vmdk".
std::string applies_to(const std::vector<std::string_view>& targets) {
  if (targets.size() == 1) return fmt::format("--to {} only", targets[0]);
  return fmt::format("--to {}", fmt::join(targets, " or "));
}

// One generated option: --KEY with the first owner's row, its help naming the owners and their
// defaults. `texts` owns the generated strings for the process's life.
OptionSpec generated_row(std::string_view key, const std::vector<std::string_view>& owners,
                         const std::vector<const vdisk::OptionSpec*>& rows, std::string_view what,
                         std::deque<std::string>& texts) {
  std::vector<std::string> defaults;
  for (std::size_t i = 0; i < rows.size(); ++i)
    if (!rows[i]->fallback.empty())
      defaults.push_back(rows.size() > 1 ? fmt::format("{} {}", owners[i], rows[i]->fallback)
                                         : std::string(rows[i]->fallback));
  const std::string_view name = texts.emplace_back(fmt::format("--{}", key));
  std::string help = fmt::format("{}{}: {}", fmt::join(owners, ", "), what, rows[0]->help);
  if (!defaults.empty()) help += fmt::format(" (default {})", fmt::join(defaults, ", "));
  OptionSpec spec{name, "", rows[0]->metavar, texts.emplace_back(std::move(help)), {}};
  spec.setting = rows[0]->key;
  spec.setting_choices = rows[0]->choices;
  return spec;
}

}  // namespace

// One long option per key of the input formats' and the targets' tables, in help order.
const std::vector<OptionSpec>& generated_options() {
  static const std::vector<OptionSpec> rows = [] {
    static std::deque<std::string> texts;
    std::vector<OptionSpec> out;
    std::vector<std::string_view> seen;
    for (const auto format : vdisk::input_formats()) {
      auto table = vdisk::input_format_options(format);
      if (!table.ok()) continue;
      for (const auto& row : *table) {
        if (std::find(seen.begin(), seen.end(), row.key) != seen.end()) continue;
        seen.push_back(row.key);
        const auto owners = owners_of(row.key).formats;
        std::vector<const vdisk::OptionSpec*> found;
        for (const auto f : owners)
          found.push_back(vdisk::find_option(*vdisk::input_format_options(f), row.key));
        out.push_back(generated_row(row.key, owners, found, " input", texts));
      }
    }
    for (const auto target : vdisk::target_names()) {
      auto info = vdisk::target_info(target);
      if (!info.ok()) continue;
      for (const auto& row : info->options) {
        if (std::find(seen.begin(), seen.end(), row.key) != seen.end()) continue;
        seen.push_back(row.key);
        const auto owners = owners_of(row.key).targets;
        std::vector<const vdisk::OptionSpec*> found;
        for (const auto t : owners)
          found.push_back(vdisk::find_option(vdisk::target_info(t)->options, row.key));
        out.push_back(generated_row(row.key, owners, found, "", texts));
      }
    }
    return out;
  }();
  return rows;
}

vdisk::Status validate_target_options(const TargetArgs& target, std::string_view verb) {
  vdisk::TargetOptions o;
  vdisk::OpenOptions open;
  for (const auto& [key, value] : target.settings) {
    const Owners owners = owners_of(key);
    if (owners.empty()) {
      std::vector<std::string_view> keys;
      for (const auto& gen : generated_options()) keys.push_back(gen.setting);
      return vdisk::invalid_argument(
          fmt::format("{}: -o: no target or input format has an "
                      "option '{}' (known: {})",
                      verb, key, fmt::join(keys, ", ")));
    }
    if (!owners.formats.empty()) {
      // Which input takes it is known once SRC is opened (a key of another format is refused
      // then); its value is checked now.
      if (auto s = vdisk::set_format_option(open, key, value); !s.ok())
        return vdisk::invalid_argument(fmt::format("--{}: {}", key, s.message()));
      continue;
    }
    const auto t = vdisk::target_info(target.name);
    if (!t.ok() || !vdisk::find_option(t->options, key))
      return vdisk::invalid_argument(
          fmt::format("{}: --{} applies to {}", verb, key, applies_to(owners.targets)));
    if (auto s = vdisk::set_target_option(target.name, o, key, value); !s.ok())
      return vdisk::invalid_argument(fmt::format("--{}: {}", key, s.message()));
  }
  if (target.name.empty()) return {};
  if (auto s = vdisk::check_target_options(target.name, o); !s.ok())
    return vdisk::invalid_argument(fmt::format("{}: {}", verb, s.message()));
  return {};
}

std::span<const OptionSpec> insert_generated(std::span<const OptionSpec> fixed,
                                             std::string_view after, OptionStore apply) {
  // Tables of the commands that ask, kept for the process's life (a span points into them; a
  // deque never moves its elements).
  static std::deque<std::vector<OptionSpec>> tables;
  std::vector<OptionSpec> out;
  for (const auto& opt : fixed) {
    out.push_back(opt);
    if (opt.name == after)
      for (OptionSpec gen : generated_options()) {
        gen.apply = apply;
        out.push_back(gen);
      }
  }
  return tables.emplace_back(std::move(out));
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

vdisk::Result<vdisk::TargetOptions> make_target_options(const TargetArgs& target,
                                                        const RunContext& ctx,
                                                        vdisk::TargetOptions base) {
  vdisk::TargetOptions o = std::move(base);
  if (ctx.source_date_epoch) {
    VDISK_ASSIGN_OR_RETURN(o.timestamp_unix, parse_source_date_epoch(*ctx.source_date_epoch));
    o.unique_id = pinned_unique_id(*o.timestamp_unix);
  }
  for (const auto& [key, value] : target.settings)
    if (owners_of(key).formats.empty())
      VDISK_RETURN_IF_ERROR(vdisk::set_target_option(target.name, o, key, value));
  return o;
}
std::vector<std::string_view> check_target_choices() { return vdisk::check_targets(); }
std::vector<std::string_view> consumer_choices() {
  return {"mvmc", "qemu", "virtualbox", "esxi", "all"};
}

vdisk::Status parse_consumer(ConsumerArg& out, std::string_view value) {
  const auto mask = vdisk::vmdk::parse_consumer(value);
  if (!mask)
    return vdisk::invalid_argument(fmt::format(
        "--for: unknown consumer '{}' (known: mvmc, qemu, virtualbox, esxi, all)", value));
  out.name = std::string(value);
  out.mask = *mask;
  return {};
}

vdisk::Status parse_disk(std::size_t& out, std::string_view value) {
  std::size_t n = 0;
  const auto* end = value.data() + value.size();
  const auto [ptr, ec] = std::from_chars(value.data(), end, n);
  if (value.empty() || ec != std::errc() || ptr != end || n < 1 || n > 1000000)
    return vdisk::invalid_argument(
        fmt::format("--disk: '{}' is not a disk number (1 for the first disk)", value));
  out = n;
  return {};
}

void InputArgs::apply_to(vdisk::OpenOptions& options) const {
  options.format = format;
  options.ignore_parent_identity = ignore_cid;
  options.disk_index = disk > 0 ? disk - 1 : 0;
  options.verify_manifest = !no_verify;
}

vdisk::Status apply_format_options(const TargetArgs& target, vdisk::OpenOptions& options) {
  for (const auto& [key, value] : target.settings)
    if (!owners_of(key).formats.empty())
      VDISK_RETURN_IF_ERROR(vdisk::set_format_option(options, key, value));
  // A live ISO's GRUB repack (docs/livecd.md) asks for GRUB's images only when it is made.
  options.grub_images = [] { return build_grub_images(); };
  return {};
}

std::optional<DescriptorAction> parse_descriptor_action(std::string_view word) {
  if (word == "show") return DescriptorAction::show;
  if (word == "lint") return DescriptorAction::lint;
  if (word == "extract") return DescriptorAction::extract;
  if (word == "replace") return DescriptorAction::replace;
  return std::nullopt;
}

std::optional<IsoAction> parse_iso_action(std::string_view word) {
  if (word == "ls") return IsoAction::ls;
  if (word == "extract") return IsoAction::extract;
  return std::nullopt;
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
