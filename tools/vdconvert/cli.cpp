// The argument parser, the did-you-mean distance and the Errc -> exit code mapping (the help
// texts, man page and completion are generated in cli_help.cpp).
#include "cli.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <optional>

#include "exit_codes.h"

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

// "; did you mean 'convert'?" when `word` is a likely typo of one of `candidates`, else "".
std::string did_you_mean(std::string_view word, std::span<const std::string_view> candidates) {
  const std::string_view best = closest_match(word, candidates);
  return best.empty() ? std::string() : fmt::format("; did you mean '{}'?", best);
}

std::string unknown_command(std::string_view word, std::span<const CommandSpec> table) {
  std::vector<std::string_view> names;
  for (const auto& spec : table) names.push_back(spec.name);
  const std::string hint = did_you_mean(word, names);
  if (!hint.empty()) return fmt::format("unknown command '{}'{}", word, hint);
  return fmt::format("unknown command '{}' (commands: {})", word, command_names(table));
}

// The usage for a one-line error message: a command with subcommands (one usage line each, as
// `iso` has) points at the command's help instead.
std::string usage_hint(const CommandSpec& spec) {
  if (!spec.subcommands.empty()) return fmt::format("see 'vdconvert {} --help'", spec.name);
  return fmt::format("usage: {}", usage_lines(spec).front());
}

const OptionSpec* find_option(const CommandSpec& spec, std::string_view name) {
  for (const auto& opt : spec.options)
    if (opt.name == name || (!opt.alias.empty() && opt.alias == name)) return &opt;
  return nullptr;
}

std::string unknown_option(std::string_view name, const CommandSpec& spec) {
  std::string hint;
  if (name.starts_with("--")) {
    std::vector<std::string_view> names;
    for (const auto& opt : spec.options) names.push_back(opt.name);
    hint = did_you_mean(name, names);
  }
  if (!hint.empty()) return fmt::format("unknown option '{}' for '{}'{}", name, spec.name, hint);
  return fmt::format("unknown option '{}' for '{}' (see 'vdconvert {} --help')", name, spec.name,
                     spec.name);
}

// The option as the user wrote it, for messages: "-j (--threads)" or "--threads".
std::string shown_name(const OptionSpec& opt, std::string_view written) {
  if (written == opt.name) return std::string(opt.name);
  return fmt::format("{} ({})", written, opt.name);
}

class ArgParser {
 public:
  ArgParser(std::span<const std::string_view> args, const CommandSpec& spec, CommandArgs& out)
      : args_(args), spec_(spec), out_(out) {}

  Status run() {
    bool options_done = false;
    for (i_ = 0; i_ < args_.size(); ++i_) {
      const std::string_view a = args_[i_];
      if (options_done || a == "-" || !a.starts_with('-')) {
        out_.operands.emplace_back(a);
      } else if (a == "--") {
        options_done = true;
      } else if (a.starts_with("--")) {
        VDISK_RETURN_IF_ERROR(long_option(a));
      } else {
        VDISK_RETURN_IF_ERROR(short_options(a));
      }
    }
    return {};
  }

 private:
  Status long_option(std::string_view a) {
    std::string_view name = a;
    std::optional<std::string_view> value;
    if (const auto eq = a.find('='); eq != std::string_view::npos) {
      name = a.substr(0, eq);
      value = a.substr(eq + 1);
    }
    const OptionSpec* opt = find_option(spec_, name);
    if (!opt || opt->name != name) return invalid_argument(unknown_option(name, spec_));
    return apply(*opt, name, value);
  }

  // "-l", "-lR", "-j4", "-qj", "-Oazure": flags, at most one value option at the end.
  Status short_options(std::string_view a) {
    for (std::size_t k = 1; k < a.size(); ++k) {
      const std::string letter = {'-', a[k]};
      const OptionSpec* opt = find_option(spec_, letter);
      if (!opt || opt->alias != letter) {
        if (a.size() == 2) return invalid_argument(unknown_option(letter, spec_));
        return invalid_argument(
            fmt::format("unknown option '{}' in '{}' for '{}' (see 'vdconvert {} --help')", letter,
                        a, spec_.name, spec_.name));
      }
      if (!opt->metavar.empty() && !opt->value_optional) {
        std::optional<std::string_view> value;
        if (k + 1 < a.size()) value = a.substr(k + 1);
        return apply(*opt, letter, value);
      }
      VDISK_RETURN_IF_ERROR(apply(*opt, letter, std::nullopt));
    }
    return {};
  }

  // `value` is the attached value (`--x=V`, `-xV`), if any; a value option without one takes
  // the next argument.
  Status apply(const OptionSpec& opt, std::string_view written,
               std::optional<std::string_view> value) {
    if (opt.metavar.empty()) {
      if (value) return invalid_argument(fmt::format("option '{}' takes no value", written));
      return store(opt, {});
    }
    if (opt.value_optional) {
      if (!value) return store(opt, {});
      if (value->empty())
        return invalid_argument(fmt::format("option '{}=' needs a non-empty value", written));
      return store(opt, *value);
    }
    if (!value) {
      if (i_ + 1 >= args_.size())
        return invalid_argument(
            fmt::format("option '{}' needs a value ({})", shown_name(opt, written), opt.metavar));
      value = args_[++i_];
    }
    if (value->empty())
      return invalid_argument(
          fmt::format("option '{}' needs a non-empty value", shown_name(opt, written)));
    if (!opt.repeatable && std::find(seen_.begin(), seen_.end(), opt.name) != seen_.end())
      return invalid_argument(fmt::format("option '{}' given more than once", opt.name));
    seen_.push_back(opt.name);
    return store(opt, *value);
  }

  // A row bound to another command's arguments struct is a bug in the tables (cmd_*.cpp
  // static_assert their own rows; unit.cli checks the generated ones).
  Status store(const OptionSpec& opt, std::string_view value) {
    if (opt.apply.fn == nullptr || opt.apply.args != spec_.binding.args)
      return vdisk::internal_error(
          fmt::format("option '{}' of '{}' is not bound to its arguments", opt.name, spec_.name));
    return opt.apply.fn(out_, opt, value);
  }

  std::span<const std::string_view> args_;
  const CommandSpec& spec_;
  CommandArgs& out_;
  std::size_t i_ = 0;
  std::vector<std::string_view> seen_;  // value options already given
};

Status check_subcommand(const CommandSpec& spec, const CommandArgs& args) {
  if (spec.subcommands.empty() || args.operands.empty()) return {};
  const std::string& sub = args.operands[0];
  std::vector<std::string_view> names;
  for (const auto& s : spec.subcommands) {
    if (s.name == sub) return {};
    names.push_back(s.name);
  }
  const std::string hint = did_you_mean(sub, names);
  if (!hint.empty())
    return invalid_argument(fmt::format("{}: unknown subcommand '{}'{}", spec.name, sub, hint));
  return invalid_argument(fmt::format("{}: unknown subcommand '{}' (expected {})", spec.name, sub,
                                      fmt::join(names, ", ")));
}

// Parses the arguments after the command name.
Status parse_command_args(std::span<const std::string_view> args, const CommandSpec& spec,
                          CommandArgs& cmd) {
  VDISK_RETURN_IF_ERROR(ArgParser(args, spec, cmd).run());
  VDISK_RETURN_IF_ERROR(check_subcommand(spec, cmd));

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
  if (spec.binding.validate) VDISK_RETURN_IF_ERROR(spec.binding.validate(cmd));
  return {};
}

// The hidden `vdconvert --generate man|bash-completion|markdown [FILE]` (the build runs it for
// the first two; tests/cli/reference_test.sh compares the third with docs/cli.md).
Result<Command> parse_generate(std::span<const std::string_view> args) {
  Command cmd;
  if (args.size() < 2 || args.size() > 3 ||
      (args[1] != "man" && args[1] != "bash-completion" && args[1] != "markdown"))
    return invalid_argument("usage: vdconvert --generate man|bash-completion|markdown [FILE]");
  cmd.generate = args[1] == "man"        ? Generate::man
                 : args[1] == "markdown" ? Generate::markdown
                                         : Generate::bash_completion;
  if (args.size() == 3) cmd.generate_file = std::string(args[2]);
  return cmd;
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
      if (!cmd.spec) return invalid_argument(unknown_command(args[1], table));
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
  if (first == "--generate") return parse_generate(args);
  if (first.starts_with('-'))
    return invalid_argument(
        fmt::format("unknown option '{}'; a command comes first (try 'vdconvert --help')", first));

  for (const auto& spec : table)
    if (spec.name == first) cmd.spec = &spec;
  if (!cmd.spec) return invalid_argument(unknown_command(first, table));

  const auto rest = args.subspan(1);
  for (const auto a : rest) {
    if (a == "--") break;
    if (is_help(a)) {
      cmd.help = true;
      return cmd;
    }
  }
  if (!cmd.spec->binding.make)
    return vdisk::internal_error(fmt::format("command '{}' has no arguments struct", first));
  cmd.args = cmd.spec->binding.make();
  VDISK_RETURN_IF_ERROR(parse_command_args(rest, *cmd.spec, *cmd.args));
  return cmd;
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  // d[i][j]: distance between a[0..i) and b[0..j), with adjacent transpositions.
  std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
  for (std::size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (std::size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i)
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  return d[a.size()][b.size()];
}

std::string_view closest_match(std::string_view word,
                               std::span<const std::string_view> candidates) {
  // Leading dashes carry no information: compare "forse" with "force".
  const auto bare = [](std::string_view s) {
    return s.substr(std::min(s.find_first_not_of('-'), s.size()));
  };
  const std::string_view w = bare(word);
  // Up to 2 edits, or a third of the word for long words; 1 for words of 1-3 letters.
  const std::size_t limit = w.size() <= 3 ? 1 : std::max<std::size_t>(2, w.size() / 3);
  std::string_view best;
  std::size_t best_d = limit + 1;
  for (const auto c : candidates) {
    const std::size_t d = edit_distance(w, bare(c));
    if (d < best_d) {
      best = c;
      best_d = d;
    }
  }
  return best;
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
