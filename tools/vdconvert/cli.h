// vdconvert's command line: a table of commands and their options, and a pure parser that turns
// argv into a Command holding the command's own, typed arguments struct (command_args.h).
// Nothing here touches files, the terminal or the environment, so every rule is unit-tested
// (tests/cli).
//
// Adding a command (say `vdconvert iso ...`) means its arguments struct in command_args.h, one
// new cmd_iso.cpp with its handler and its option table, and one row in commands.cpp; the
// parser, the usage lines, --help, the man page, the bash completion and the Markdown reference
// (cli_help.cpp) are all generated from those tables.
//
// Type safety: an option row stores through store<F>, a function F(Args&, value) of the
// command's arguments struct, and a command binds its handlers through bind_command<Args, ...>;
// both carry Args's identity (ArgsType). Each cmd_*.cpp static_asserts that every row of its
// table stores into its own Args; the generated rows are checked by unit.cli, and the parser
// refuses (internal error) a row bound to another struct. No option is looked up by a string.
#ifndef VDCONVERT_CLI_H_
#define VDCONVERT_CLI_H_

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "vdisk/status.h"

namespace vdconvert {

enum class ProgressMode : std::uint8_t {
  automatic,  // a progress bar when stderr is a terminal
  always,     // --progress, --progress=bar
  never,      // --quiet (also silences the summary line)
  json,       // --progress=json[:FD]: JSON lines (docs/json.md), no bar
};

// What every command's arguments struct holds (each derives from it): the operands, and
// -q/--quiet with the progress mode it implies (every command has -q; convert also has
// -p/--progress). Fields of the derived structs that an invocation does not give keep their
// defaults.
struct CommandArgs {
  CommandArgs() = default;
  CommandArgs(const CommandArgs&) = delete;
  CommandArgs& operator=(const CommandArgs&) = delete;
  virtual ~CommandArgs() = default;

  std::vector<std::string> operands;  // SRC, DST, FILE ("-" = stdin / stdout); a subcommand first
  ProgressMode progress = ProgressMode::automatic;
  int progress_fd = 2;  // ProgressMode::json: the descriptor the lines go to
  bool quiet = false;  // -q/--quiet: no notes, no summary line (every command)
};

// The identity of an arguments struct type, comparable in constant expressions.
using ArgsType = const void*;
namespace detail {
template <class Args>
inline constexpr char kArgsTypeTag = 0;
}  // namespace detail
template <class Args>
constexpr ArgsType args_type() {
  static_assert(std::is_base_of_v<CommandArgs, Args>,
                "an arguments struct derives from CommandArgs");
  return &detail::kArgsTypeTag<Args>;
}

struct OptionSpec;
// How an option stores its value into its command's arguments struct: made by store<F> only.
struct OptionStore {
  ArgsType args = nullptr;  // the struct F takes
  vdisk::Status (*fn)(CommandArgs& args, const OptionSpec& opt, std::string_view value) = nullptr;
};

namespace detail {
template <class F>
struct StoreTraits;
template <class A>
struct StoreTraits<vdisk::Status (*)(A&, std::string_view)> {
  using Args = A;
  static constexpr bool kTakesSpec = false;
};
template <class A>
struct StoreTraits<vdisk::Status (*)(A&, const OptionSpec&, std::string_view)> {
  using Args = A;
  static constexpr bool kTakesSpec = true;
};
template <auto F>
vdisk::Status call_store(CommandArgs& args, const OptionSpec& opt, std::string_view value) {
  using Traits = StoreTraits<decltype(F)>;
  auto& typed = static_cast<typename Traits::Args&>(args);
  if constexpr (Traits::kTakesSpec)
    return F(typed, opt, value);
  else
    return F(typed, value);
}
template <class M>
struct MemberOf;
template <class C, class T>
struct MemberOf<T C::*> {
  using Class = C;
};
}  // namespace detail

// The store of an option whose value F(Args&, value) (or F(Args&, const OptionSpec&, value))
// checks and stores; an error is a usage error. `value` is empty for a flag.
template <auto F>
inline constexpr OptionStore store{
    args_type<typename detail::StoreTraits<decltype(F)>::Args>(),
    &detail::call_store<F>,
};

// F for a flag that sets one bool member: store<set_true<&IsoArgs::recursive>>.
template <auto Member>
vdisk::Status set_true(typename detail::MemberOf<decltype(Member)>::Class& args, std::string_view) {
  args.*Member = true;
  return {};
}

// An option a command accepts. `metavar` is empty for a flag; otherwise the option takes a
// value, given as `--name VALUE` or `--name=VALUE`, or with the one-letter alias as `-x VALUE`
// or `-xVALUE`. One-letter flags bundle (`-lR`); a bundle may end with one value option, which
// takes the rest of the word or the next argument (`-qj4`, `-qj 4`).
struct OptionSpec {
  std::string_view name;     // "--to"
  std::string_view alias;    // "-O" (one letter), or empty
  std::string_view metavar;  // "FMT", or empty for a flag; "FILE" completes file names
  std::string_view help;     // one line
  OptionStore apply;         // stores the option in the command's arguments struct
  bool required = false;     // shown without brackets in the usage (the validator enforces it)
  // The accepted values, for the help, the man page and the completion; may be null.
  std::vector<std::string_view> (*choices)() = nullptr;
  // A target or input-format option generated from the library's tables (commands.cpp): the key
  // it sets (TargetArgs::settings) and its values.
  std::string_view setting = {};
  std::span<const std::string_view> setting_choices = {};
  // May be given more than once, each value stored in turn (-o, --tag, --keep); any other
  // value option given twice is a usage error.
  bool repeatable = false;
  // The value is optional and only given attached to the long name (`--progress=json`):
  // without one, and with the alias, the option is a flag (F gets an empty value). Shown as
  // `--name[=METAVAR]`.
  bool value_optional = false;
};
// The accepted values of `opt` (choices() or setting_choices), empty when any value goes.
std::vector<std::string_view> option_choices(const OptionSpec& opt);

// True when every row of `options` stores into Args (each cmd_*.cpp static_asserts it).
template <class Args>
constexpr bool options_store_into(std::span<const OptionSpec> options) {
  for (const auto& opt : options)
    if (opt.apply.args != args_type<Args>() || opt.apply.fn == nullptr) return false;
  return true;
}

// A subcommand of a multi-action command (`iso ls`, `descriptor lint`): the first operand. Used
// for its usage line, its did-you-mean and the completion; the command's validator enforces
// the per-subcommand rules.
struct SubcommandSpec {
  std::string_view name;                       // "ls"
  std::span<const std::string_view> operands;  // after the name: {"ISO", "[PATH]"}
  std::span<const std::string_view> options;   // the option names it takes: {"--long"}
  std::string_view summary;                    // one line
};

// What the command-line context hands a running command (commands.h).
struct RunContext;

// A command's arguments struct and handlers, type-erased: made by bind_command only.
struct CommandBinding {
  ArgsType args = nullptr;
  std::unique_ptr<CommandArgs> (*make)() = nullptr;  // a fresh struct with its defaults
  // Cross-option rules checked after parsing (required options, conflicts); may be null.
  vdisk::Status (*validate)(const CommandArgs& args) = nullptr;
  int (*run)(const CommandArgs& args, RunContext& ctx) = nullptr;
};

namespace detail {
template <class Args>
std::unique_ptr<CommandArgs> make_args() {
  return std::make_unique<Args>();
}
template <class Args, vdisk::Status (*Validate)(const Args&)>
vdisk::Status call_validate(const CommandArgs& args) {
  return Validate(static_cast<const Args&>(args));
}
template <class Args, int (*Run)(const Args&, RunContext&)>
int call_run(const CommandArgs& args, RunContext& ctx) {
  return Run(static_cast<const Args&>(args), ctx);
}
template <class Args, vdisk::Status (*Validate)(const Args&)>
constexpr auto erased_validate() -> vdisk::Status (*)(const CommandArgs&) {
  if constexpr (Validate == nullptr)
    return nullptr;
  else
    return &call_validate<Args, Validate>;
}
}  // namespace detail

// The binding of a command whose arguments are Args: Validate (may be nullptr) and Run.
template <class Args, vdisk::Status (*Validate)(const Args&), int (*Run)(const Args&, RunContext&)>
inline constexpr CommandBinding bind_command{
    args_type<Args>(),
    &detail::make_args<Args>,
    detail::erased_validate<Args, Validate>(),
    &detail::call_run<Args, Run>,
};

struct CommandSpec {
  std::string_view name;     // "convert"
  std::string_view summary;  // one line for the global help
  std::string_view details;  // further help text (may be empty)
  std::span<const OptionSpec> options;
  // Operand names: {"SRC", "DST"}; a name in brackets ("[DST]") is optional and only trailing
  // operands may be optional. With subcommands the first operand is the subcommand.
  std::span<const std::string_view> operands;
  std::span<const SubcommandSpec> subcommands;  // empty for a single-action command
  CommandBinding binding;
};

// The hidden `vdconvert --generate man|bash-completion|markdown [FILE]`.
enum class Generate : std::uint8_t { none, man, bash_completion, markdown };

// One parsed invocation.
struct Command {
  const CommandSpec* spec = nullptr;  // nullptr: no command (global --help / --version)
  bool help = false;                  // print help (for spec, or the global help)
  bool version = false;               // print the version
  Generate generate = Generate::none;
  std::string generate_file;  // ... written to this file ("" = stdout)
  // The command's arguments (of spec->binding's type); null with help, version or generate.
  std::unique_ptr<CommandArgs> args;

  // The arguments as Args, or null when the command's struct is another one (or absent).
  template <class Args>
  const Args* get() const {
    if (!spec || !args || spec->binding.args != args_type<Args>()) return nullptr;
    return static_cast<const Args*>(args.get());
  }
};

// Parses `args` (argv without argv[0]) against `table`. Every error is invalid_argument with a
// one-line message suitable for "vdconvert: error: <message>". `--help` / `-h` anywhere before
// `--` wins over other errors so that `vdconvert convert --help` always works.
vdisk::Result<Command> parse_args(std::span<const std::string_view> args,
                                  std::span<const CommandSpec> table);

// Generated from the tables (cli_help.cpp).
// The global help: usage, the commands, exit codes and environment.
std::string global_help(std::span<const CommandSpec> table);
// The help for one command: usage, options, details.
std::string command_help(const CommandSpec& spec);
// The usage lines of a command: one per subcommand, or one; each a single unwrapped line
// ("vdconvert convert [-f|--from FMT] -O|--to TARGET ... SRC DST").
std::vector<std::string> usage_lines(const CommandSpec& spec);
// The man page vdconvert.1 (roff) and the bash completion script.
std::string man_page(std::span<const CommandSpec> table);
std::string bash_completion(std::span<const CommandSpec> table);
// The Markdown CLI reference (docs/cli.md, between its GENERATED markers): per command a
// `### vdconvert NAME` heading, its summary, its wrapped usage lines in a text block, a table of
// its subcommands, a table of its options (option, alias, value, help, accepted values; `-h`
// last) and its details; then the library's input formats and targets. Deterministic, no
// version in it (so a version bump does not make the document stale); table cells are escaped
// (`|`, markup characters) and hold one line each.
std::string markdown_reference(std::span<const CommandSpec> table);

// Damerau-Levenshtein (optimal string alignment) distance, and the closest of `candidates`
// to `word` when it is close enough to be a likely typo (else empty).
std::size_t edit_distance(std::string_view a, std::string_view b);
std::string_view closest_match(std::string_view word, std::span<const std::string_view> candidates);

// Helpers for option `apply` functions and validators.
vdisk::Result<unsigned> parse_thread_count(std::string_view text);

}  // namespace vdconvert

#endif  // VDCONVERT_CLI_H_
