// vdconvert: parse -> run -> print -> exit code. Exit codes: see exit_codes.h and --help.
#include <unistd.h>

#include <cstdlib>
#include <exception>
#include <fstream>
#include <new>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "cli.h"
#include "commands.h"
#include "console.h"
#include "exit_codes.h"
#include "signals.h"
#include "vdisk/version.h"

namespace {

// Help, version and generated documents: a failed write is exit 3 without a message.
int print_stdout(vdconvert::Console& console, std::string_view text) {
  return console.print(text).ok() ? vdconvert::kExitOk : vdconvert::kExitIo;
}

// The hidden `--generate man|bash-completion|markdown [FILE]`: the build writes vdconvert.1
// and the completion script with it; the Markdown reference is docs/cli.md's generated block.
int generate(const vdconvert::Command& cmd, std::span<const vdconvert::CommandSpec> table,
             vdconvert::Console& console) {
  using vdconvert::Generate;
  const std::string text = cmd.generate == Generate::man ? vdconvert::man_page(table)
                           : cmd.generate == Generate::markdown
                               ? vdconvert::markdown_reference(table)
                               : vdconvert::bash_completion(table);
  if (cmd.generate_file.empty()) return print_stdout(console, text);
  // A file the build asked for (not console output).
  std::ofstream f(cmd.generate_file, std::ios::binary | std::ios::trunc);
  if (!f) return vdconvert::kExitIo;
  f.write(text.data(), static_cast<std::streamsize>(text.size()));
  f.close();
  return f ? vdconvert::kExitOk : vdconvert::kExitIo;
}

int run_main(int argc, char** argv, vdconvert::Console& console) {
  using namespace vdconvert;
  const std::vector<std::string_view> args(argv + 1, argv + argc);
  const auto table = command_table();
  auto parsed = parse_args(args, table);
  if (!parsed.ok()) {
    console.error(parsed.status().message());
    return kExitUsage;
  }
  const Command& cmd = *parsed;
  if (cmd.generate != Generate::none) return generate(cmd, table, console);
  if (cmd.version)
    return print_stdout(console, std::string("vdconvert ") + vdisk::version() + "\n");
  if (cmd.help)
    return print_stdout(console, cmd.spec ? command_help(*cmd.spec) : global_help(table));

  const CommandArgs& given = *cmd.args;
  console.set_quiet(given.quiet);
  // Only now may threads start: they inherit the blocked signal mask set in main().
  SignalWatcher signals(console);
  std::optional<std::string> epoch;
  if (const char* e = std::getenv("SOURCE_DATE_EPOCH"); e && *e) epoch = e;
  RunContext ctx{console,          &signals,           signals.token(), ::isatty(0) == 1,
                 ::isatty(1) == 1, console.terminal(), std::move(epoch)};
  return cmd.spec->binding.run(given, ctx);
}

}  // namespace

int main(int argc, char** argv) {
  // Before anything can start a thread.
  vdconvert::block_termination_signals();
  vdconvert::Console console(::isatty(2) == 1);
  try {
    return run_main(argc, argv, console);
  } catch (const std::bad_alloc&) {
    console.error("out of memory");
    return vdconvert::kExitInternal;
  } catch (const std::exception& e) {
    console.error(std::string("internal error: ") + e.what());
    return vdconvert::kExitInternal;
  }
}
