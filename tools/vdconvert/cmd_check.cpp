// `vdconvert check --for TARGET FILE`: re-read a written image and report every rule of the
// target, one line each.
#include <fmt/format.h>

#include <algorithm>
#include <cstdio>

#include "commands.h"
#include "exit_codes.h"
#include "vdisk/check.h"

namespace vdconvert {
namespace {

using vdisk::invalid_argument;
using vdisk::Status;

Status apply_for(Command& cmd, std::string_view value) {
  const auto targets = vdisk::check_targets();
  if (std::find(targets.begin(), targets.end(), value) == targets.end())
    return invalid_argument(fmt::format("--for: unknown check target '{}' (known: {})", value,
                                        fmt::join(targets, ", ")));
  cmd.check_for = std::string(value);
  return {};
}

Status validate(const Command& cmd) {
  if (cmd.check_for.empty())
    return invalid_argument(fmt::format("check: --for is required (known: {})",
                                        fmt::join(vdisk::check_targets(), ", ")));
  if (cmd.operands[0] == "-")
    return invalid_argument("check: FILE must be a file (check re-reads it); '-' is not allowed");
  return {};
}

std::string render_text(const vdisk::CheckReport& report) {
  std::string out;
  std::size_t failed = 0;
  for (const auto& item : report.items) {
    out += fmt::format("{} {}: {}\n", item.passed ? "PASS" : "FAIL", item.rule, item.detail);
    if (!item.passed) ++failed;
  }
  if (report.items.empty())
    out += fmt::format("{}: no {} rule could be checked\n", report.path, report.target);
  else if (report.passed())
    out += fmt::format("{}: all {} rules pass for {}\n", report.path, report.items.size(),
                       report.target);
  else
    out += fmt::format("{}: {} of {} rules fail for {}\n", report.path, failed,
                       report.items.size(), report.target);
  return out;
}

int run(const Command& cmd, RunContext& ctx) {
  auto report = vdisk::check_image(cmd.operands[0], cmd.check_for);
  if (!report.ok()) return report_failure(ctx, report.status());
  const std::string text =
      cmd.json ? report->to_properties().to_json() + "\n" : render_text(*report);
  if (std::fwrite(text.data(), 1, text.size(), stdout) != text.size() || std::fflush(stdout) != 0)
    return report_failure(ctx, vdisk::errno_status(errno, "<stdout>", "write"));
  return report->passed() ? kExitOk : kExitCheckFailed;
}

constexpr OptionSpec kOptions[] = {
    {"--for", "", "TARGET", "rule set to check against: azure, gcp or vmdk (required)", apply_for},
    {"--json", "", "", "print the report as JSON", apply_json},
};
constexpr std::string_view kOperands[] = {"FILE"};

}  // namespace

const CommandSpec& check_command() {
  static const CommandSpec spec{
      "check",
      "re-read a written image and report every rule of a target (e.g. Azure)",
      "vdconvert check --for TARGET [--json] FILE",
      "Prints one 'PASS rule: detail' or 'FAIL rule: detail' line per rule and a summary.\n"
      "Exits 0 when every rule passes and 5 when any fails.\n",
      kOptions,
      kOperands,
      validate,
      run,
  };
  return spec;
}

}  // namespace vdconvert
