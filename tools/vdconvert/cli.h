// vdconvert's command line: a table of commands and their options, and a pure parser that turns
// argv into a Command. Nothing here touches files, the terminal or the environment, so every
// rule is unit-tested (tests/cli).
//
// Adding a command (say `vdconvert iso ...`) means one new cmd_iso.cpp with its handler and
// its options, and one row in commands.cpp; the parser, the usage lines, --help, the man page
// the bash completion and the Markdown reference (cli_help.cpp) are all generated from those
// tables.
#ifndef VDCONVERT_CLI_H_
#define VDCONVERT_CLI_H_

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "vdisk/status.h"

namespace vdconvert {

enum class ProgressMode : std::uint8_t {
  automatic,  // a progress bar when stderr is a terminal
  always,     // --progress
  never,      // --quiet (also silences the summary line)
};

struct CommandSpec;

// One parsed invocation. Fields that a command does not accept keep their defaults.
struct Command {
  const CommandSpec* spec = nullptr;  // nullptr: no command (global --help / --version)
  bool help = false;                  // print help (for spec, or the global help)
  bool version = false;               // print the version
  std::string generate;               // hidden --generate man|bash-completion|markdown
  std::string generate_file;          // ... written to this file ("" = stdout)
  std::string from;                   // --from FMT ("" = probe)
  std::string to;                     // --to TARGET
  std::string check_for;              // --for TARGET
  bool force = false;                 // --force
  bool no_sync = false;               // --no-sync: skip fsync before the rename
  bool json = false;                  // --json
  bool keep_gpt = false;              // --keep-gpt: pad without relocating a GPT's backup
  bool detect_zeroes = false;         // --detect-zeroes: gcp zero-scan pre-pass
  bool checksums = false;             // --checksums (also set by --checksums-file)
  std::string checksums_file;         // --checksums-file F: write the checksums as JSON to F
  unsigned threads = 0;               // --threads N (0 = hardware concurrency)
  // The target's own options (the library's tables), as --KEY [VALUE] and -o KEY=VALUE,... gave
  // them, in order (a flag's value is empty). validate_target_options() checks them.
  std::vector<std::pair<std::string, std::string>> settings;
  std::uint64_t stream_window_mib = 0;  // --stream-window MiB (0 = the library default)
  std::size_t disk = 0;                 // --disk N (OVA/OVF, 1-based; 0 = absent: disk 1)
  unsigned connections = 0;             // --connections N (uploads; 0 = the library default)
  unsigned http_timeout = 0;            // --http-timeout SECONDS: a stalled request (0 = default)
  unsigned retries = 0;                 // --retries N: retries per request (0 = default)
  std::string region;                   // --region (AWS uploads)
  std::string endpoint_url;             // --endpoint-url (AWS uploads: an emulator, S3-compatible)
  std::string profile;                  // --profile (AWS shared credentials file)
  std::string description;              // --description (aws-snapshot)
  std::vector<std::pair<std::string, std::string>> tags;  // --tag KEY=VALUE (aws-snapshot)
  ProgressMode progress = ProgressMode::automatic;
  bool quiet = false;                 // -q/--quiet: no notes, no summary line (every verb)
  bool dry_run = false;               // --dry-run (repair)
  bool delete_lines = false;          // --delete (repair)
  bool no_backup = false;             // --no-backup (repair, descriptor replace)
  std::vector<std::string> keep;      // --keep KEY[,KEY...] (repair)
  bool keep_only = false;             // --keep-only: `keep` replaces the default kept set
  std::vector<std::string> operands;  // SRC, DST, FILE ("-" = stdin / stdout)
  std::vector<std::string> flags;     // command-specific options, as their apply() stores them
};

// An option a command accepts. `metavar` is empty for a flag; otherwise the option takes a
// value, given as `--name VALUE` or `--name=VALUE`, or with the one-letter alias as `-x VALUE`
// or `-xVALUE`. One-letter flags bundle (`-lR`); a bundle may end with one value option, which
// takes the rest of the word or the next argument (`-qj4`, `-qj 4`).
struct OptionSpec {
  std::string_view name;     // "--to"
  std::string_view alias;    // "-O" (one letter), or empty
  std::string_view metavar;  // "FMT", or empty for a flag; "FILE" completes file names
  std::string_view help;     // one line
  // Stores the option in `cmd`; an error is a usage error. `value` is empty for a flag.
  vdisk::Status (*apply)(Command& cmd, std::string_view value);
  bool required = false;  // shown without brackets in the usage (the validator enforces it)
  // The accepted values, for the help, the man page and the completion; may be null.
  std::vector<std::string_view> (*choices)() = nullptr;
  // A target option generated from the library's tables (commands.cpp): the key it sets in
  // Command::settings instead of calling `apply` (which is then null), and its values.
  std::string_view setting = {};
  std::span<const std::string_view> setting_choices = {};
};
// The accepted values of `opt` (choices() or setting_choices), empty when any value goes.
std::vector<std::string_view> option_choices(const OptionSpec& opt);

// A subcommand of a multi-action command (`iso ls`, `descriptor lint`): the first operand. Used
// for its usage line, its did-you-mean and the completion; the command's validator enforces
// the per-subcommand rules.
struct SubcommandSpec {
  std::string_view name;                       // "ls"
  std::span<const std::string_view> operands;  // after the name: {"ISO", "[PATH]"}
  std::span<const std::string_view> options;   // the option names it takes: {"--long"}
  std::string_view summary;                    // one line
};

// What the command-line context hands a running command.
struct RunContext;
using Handler = int (*)(const Command& cmd, RunContext& ctx);

struct CommandSpec {
  std::string_view name;     // "convert"
  std::string_view summary;  // one line for the global help
  std::string_view details;  // further help text (may be empty)
  std::span<const OptionSpec> options;
  // Operand names: {"SRC", "DST"}; a name in brackets ("[DST]") is optional and only trailing
  // operands may be optional. With subcommands the first operand is the subcommand.
  std::span<const std::string_view> operands;
  std::span<const SubcommandSpec> subcommands;  // empty for a single-action command
  // Cross-option rules checked after parsing (required options, conflicts); may be null.
  vdisk::Status (*validate)(const Command& cmd);
  Handler run;
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
