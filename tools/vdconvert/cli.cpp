// The argument parser, the help texts and the Errc -> exit code mapping.
#include "cli.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>

#include "exit_codes.h"
#include "vdisk/check.h"
#include "vdisk/image.h"

namespace vdconvert {
namespace {

using vdisk::invalid_argument;
using vdisk::Result;
using vdisk::Status;

constexpr unsigned kMaxThreads = 256;

bool is_help(std::string_view a) { return a == "--help" || a == "-h"; }

std::string command_names(std::span<const CommandSpec> table) {
  std::string out;
  for (const auto& spec : table) {
    if (!out.empty()) out += ", ";
    out += spec.name;
  }
  return out;
}

// The usage for a one-line error message: a multi-line usage (one line per subcommand, as
// `iso` has) is replaced by a pointer to the command's help.
std::string usage_hint(const CommandSpec& spec) {
  if (spec.usage.find('\n') == std::string_view::npos) return fmt::format("usage: {}", spec.usage);
  return fmt::format("see 'vdconvert {} --help'", spec.name);
}

const OptionSpec* find_option(const CommandSpec& spec, std::string_view name) {
  for (const auto& opt : spec.options)
    if (opt.name == name || (!opt.alias.empty() && opt.alias == name)) return &opt;
  return nullptr;
}

// Parses the arguments after the command name.
Status parse_command_args(std::span<const std::string_view> args, const CommandSpec& spec,
                          Command& cmd) {
  std::vector<std::string_view> seen;  // value options already given
  bool options_done = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string_view a = args[i];
    if (options_done || a == "-" || !a.starts_with('-')) {
      cmd.operands.emplace_back(a);
      continue;
    }
    if (a == "--") {
      options_done = true;
      continue;
    }
    std::string_view name = a;
    std::string_view value;
    bool inline_value = false;
    if (a.starts_with("--")) {
      if (const auto eq = a.find('='); eq != std::string_view::npos) {
        name = a.substr(0, eq);
        value = a.substr(eq + 1);
        inline_value = true;
      }
    }
    const OptionSpec* opt = find_option(spec, name);
    if (!opt)
      return invalid_argument(fmt::format(
          "unknown option '{}' for '{}' (see 'vdconvert {} --help')", name, spec.name, spec.name));
    if (opt->metavar.empty()) {
      if (inline_value) return invalid_argument(fmt::format("option '{}' takes no value", name));
    } else {
      if (!inline_value) {
        if (i + 1 >= args.size())
          return invalid_argument(
              fmt::format("option '{}' needs a value ({})", opt->name, opt->metavar));
        value = args[++i];
      }
      if (value.empty())
        return invalid_argument(fmt::format("option '{}' needs a non-empty value", opt->name));
      if (std::find(seen.begin(), seen.end(), opt->name) != seen.end())
        return invalid_argument(fmt::format("option '{}' given more than once", opt->name));
      seen.push_back(opt->name);
    }
    VDISK_RETURN_IF_ERROR(opt->apply(cmd, value));
  }

  const auto required = static_cast<std::size_t>(
      std::count_if(spec.operands.begin(), spec.operands.end(),
                    [](std::string_view o) { return !o.starts_with('['); }));
  if (cmd.operands.size() < required)
    return invalid_argument(fmt::format("{}: missing {} ({})", spec.name,
                                        spec.operands[cmd.operands.size()], usage_hint(spec)));
  if (cmd.operands.size() > spec.operands.size())
    return invalid_argument(fmt::format("{}: unexpected argument '{}' ({})", spec.name,
                                        cmd.operands[spec.operands.size()], usage_hint(spec)));
  for (std::size_t i = 0; i < cmd.operands.size(); ++i)
    if (cmd.operands[i].empty())
      return invalid_argument(
          fmt::format("{}: {} is an empty string", spec.name, spec.operands[i]));
  if (spec.validate) VDISK_RETURN_IF_ERROR(spec.validate(cmd));
  return {};
}

}  // namespace

Result<unsigned> parse_thread_count(std::string_view text) {
  unsigned n = 0;
  const auto* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, n);
  if (text.empty() || ec != std::errc() || ptr != end || n > kMaxThreads)
    return invalid_argument(fmt::format(
        "--threads: '{}' is not a whole number from 0 to {} (0 = one per CPU)", text, kMaxThreads));
  return n;
}

Result<Command> parse_args(std::span<const std::string_view> args,
                           std::span<const CommandSpec> table) {
  Command cmd;
  if (args.empty()) return invalid_argument("no command given (try 'vdconvert --help')");
  const std::string_view first = args[0];
  if (is_help(first) || first == "help") {
    cmd.help = true;
    if (first == "help" && args.size() == 2) {
      for (const auto& spec : table)
        if (spec.name == args[1]) cmd.spec = &spec;
      if (!cmd.spec)
        return invalid_argument(
            fmt::format("unknown command '{}' (commands: {})", args[1], command_names(table)));
    } else if (args.size() > 1) {
      return invalid_argument(fmt::format("unexpected argument '{}' after '{}'", args[1], first));
    }
    return cmd;
  }
  if (first == "--version" || first == "-V") {
    if (args.size() > 1)
      return invalid_argument(fmt::format("unexpected argument '{}' after '{}'", args[1], first));
    cmd.version = true;
    return cmd;
  }
  if (first.starts_with('-'))
    return invalid_argument(
        fmt::format("unknown option '{}'; a command comes first (try 'vdconvert --help')", first));

  for (const auto& spec : table)
    if (spec.name == first) cmd.spec = &spec;
  if (!cmd.spec)
    return invalid_argument(
        fmt::format("unknown command '{}' (commands: {})", first, command_names(table)));

  const auto rest = args.subspan(1);
  for (const auto a : rest) {
    if (a == "--") break;
    if (is_help(a)) {
      cmd.help = true;
      return cmd;
    }
  }
  VDISK_RETURN_IF_ERROR(parse_command_args(rest, *cmd.spec, cmd));
  return cmd;
}

// The names the library knows, so the help never goes stale when a format is added.
std::string known_names() {
  return fmt::format("Input formats: {}\nOutput targets: {}\nCheck targets: {}\n",
                     fmt::join(vdisk::input_formats(), ", "),
                     fmt::join(vdisk::target_names(), ", "),
                     fmt::join(vdisk::check_targets(), ", "));
}

std::string global_help(std::span<const CommandSpec> table) {
  std::string out =
      "Usage: vdconvert COMMAND [OPTIONS] ARGS...\n"
      "       vdconvert --help | --version | COMMAND --help\n"
      "\n"
      "Convert, inspect and check virtual-disk images.\n"
      "\n"
      "Commands:\n";
  for (const auto& spec : table) out += fmt::format("  {:<12}{}\n", spec.name, spec.summary);
  out +=
      "\n"
      "Exit status:\n"
      "  0    success\n"
      "  1    usage error (bad arguments, DST exists without --force, SRC is DST, unknown target)\n"
      "  2    corrupt or invalid input\n"
      "  3    I/O error (read or write failed, file missing, no space left)\n"
      "  4    the input uses an unsupported feature\n"
      "  5    check found rule violations\n"
      "  6    internal error\n"
      "  130  interrupted (SIGINT or SIGTERM); no output is left behind\n"
      "\n"
      "\n" +
      known_names() +
      "\n"
      "Environment:\n"
      "  SOURCE_DATE_EPOCH  Unix time stored as the VHD footer timestamp instead of now,\n"
      "                     for reproducible output.\n";
  return out;
}

std::string command_help(const CommandSpec& spec) {
  std::string out = fmt::format("Usage: {}\n\n{}\n", spec.usage, spec.summary);
  if (!spec.options.empty()) {
    out += "\nOptions:\n";
    for (const auto& opt : spec.options) {
      std::string left(opt.name);
      if (!opt.alias.empty()) left = fmt::format("{}, {}", opt.alias, opt.name);
      if (!opt.metavar.empty()) left += fmt::format(" {}", opt.metavar);
      out += fmt::format("  {:<20}  {}\n", left, opt.help);
    }
    out += fmt::format("  {:<20}  {}\n", "-h, --help", "show this help");
  }
  if (!spec.details.empty()) out += fmt::format("\n{}", spec.details);
  out += "\n" + known_names();
  out +=
      "\nExit status: 0 ok, 1 usage, 2 corrupt input, 3 I/O error, 4 unsupported,\n"
      "5 check failed, 6 internal error, 130 interrupted (see 'vdconvert --help').\n";
  return out;
}

int exit_code_for(vdisk::Errc code) noexcept {
  using vdisk::Errc;
  switch (code) {
    case Errc::ok:
      return kExitOk;
    case Errc::invalid_argument:
    case Errc::already_exists:
      return kExitUsage;
    case Errc::corrupt:
    case Errc::out_of_range:        // a structure points past the end of a (truncated) image
    case Errc::resource_exhausted:  // the image asks for more than the configured bounds
      return kExitCorrupt;
    case Errc::not_found:
    case Errc::io_error:
    case Errc::no_space:
      return kExitIo;
    case Errc::unsupported:
      return kExitUnsupported;
    case Errc::cancelled:
      return kExitInterrupted;
    case Errc::internal:
      return kExitInternal;
  }
  return kExitInternal;
}

}  // namespace vdconvert
