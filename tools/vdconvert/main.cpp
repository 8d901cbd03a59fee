// vdconvert: parse -> run -> print -> exit code. Exit codes: see exit_codes.h and --help.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <exception>
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

int print_stdout(std::string_view text) {
  if (std::fwrite(text.data(), 1, text.size(), stdout) != text.size() || std::fflush(stdout) != 0)
    return vdconvert::kExitIo;
  return vdconvert::kExitOk;
}

// The hidden `--generate man|bash-completion|markdown [FILE]`: the build writes vdconvert.1
// and the completion script with it; the Markdown reference is docs/cli.md's generated block.
int generate(const vdconvert::Command& cmd, std::span<const vdconvert::CommandSpec> table) {
  const std::string text = cmd.generate == "man"        ? vdconvert::man_page(table)
                           : cmd.generate == "markdown" ? vdconvert::markdown_reference(table)
                                                        : vdconvert::bash_completion(table);
  if (cmd.generate_file.empty()) return print_stdout(text);
  std::FILE* f = std::fopen(cmd.generate_file.c_str(), "wb");
  if (!f) return vdconvert::kExitIo;
  const bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size();
  return std::fclose(f) == 0 && ok ? vdconvert::kExitOk : vdconvert::kExitIo;
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
  if (!cmd.generate.empty()) return generate(cmd, table);
  if (cmd.version) return print_stdout(std::string("vdconvert ") + vdisk::version() + "\n");
  if (cmd.help) return print_stdout(cmd.spec ? command_help(*cmd.spec) : global_help(table));

  console.set_quiet(cmd.quiet);
  // Only now may threads start: they inherit the blocked signal mask set in main().
  SignalWatcher signals(console);
  std::optional<std::string> epoch;
  if (const char* e = std::getenv("SOURCE_DATE_EPOCH"); e && *e) epoch = e;
  RunContext ctx{console,          &signals,           signals.token(), ::isatty(0) == 1,
                 ::isatty(1) == 1, console.terminal(), std::move(epoch)};
  return cmd.spec->run(cmd, ctx);
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
