// `vdconvert check [--for TARGET] FILE`: re-read a written image and report every rule of the
// target, one line each. Without --for a VMDK is checked as "vmdk"; other formats need --for.
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
  if (cmd.operands[0] == "-")
    return invalid_argument("check: FILE must be a file (check re-reads it); '-' is not allowed");
  return {};
}

std::string render_text(const vdisk::CheckReport& report) {
  std::string out;
  for (const auto& item : report.items)
    out += fmt::format("{} {}: {}\n",
                       item.passed    ? "PASS"
                       : item.fails() ? "FAIL"
                                      : "WARN",
                       item.rule, item.detail);
  const std::size_t failed = report.failures();
  const std::size_t warned = report.warnings();
  const std::string warnings =
      warned ? fmt::format(", {} warning{}", warned, warned == 1 ? "" : "s") : std::string();
  if (report.items.empty())
    out += fmt::format("{}: no {} rule could be checked\n", report.path, report.target);
  else if (report.passed())
    out += fmt::format("{}: all {} rules pass for {}{}\n", report.path,
                       report.items.size() - warned, report.target, warnings);
  else
    out += fmt::format("{}: {} of {} rules fail for {}{}\n", report.path, failed,
                       report.items.size(), report.target, warnings);
  return out;
}

int run(const Command& cmd, RunContext& ctx) {
  std::string target = cmd.check_for;
  if (target.empty()) {
    auto probed = vdisk::default_check_target(cmd.operands[0]);
    if (!probed.ok()) return report_failure(ctx, probed.status().with_context("check"));
    target = *probed;
  }
  vdisk::CheckOptions options;
  options.ignore_parent_identity = flag_set(cmd, "ignore-cid");
  auto report = vdisk::check_image(cmd.operands[0], target, options);
  if (!report.ok()) return report_failure(ctx, report.status());
  const std::string text =
      cmd.json ? vdisk::json_document(report->to_properties()) : render_text(*report);
  if (std::fwrite(text.data(), 1, text.size(), stdout) != text.size() || std::fflush(stdout) != 0)
    return report_failure(ctx, vdisk::errno_status(errno, "<stdout>", "write"));
  return report->passed() ? kExitOk : kExitCheckFailed;
}

constexpr OptionSpec kOptions[] = {
    {"--for", "", "TARGET",
     "rule set: azure, gcp, vmdk, or a VMDK consumer mvmc, qemu, virtualbox, esxi (default: "
     "vmdk for a VMDK; required otherwise)",
     apply_for, false, check_target_choices},
    {"--ignore-cid", "", "", "VMDK: report a parentCID mismatch as a warning, not a failure",
     apply_ignore_cid},
    {"--json", "", "", "print the report as JSON", apply_json},
    {"--quiet", "-q", "", kQuietHelp, apply_quiet},
};
constexpr std::string_view kOperands[] = {"FILE"};

}  // namespace

const CommandSpec& check_command() {
  static const CommandSpec spec{
      "check",
      "re-read a written image and report every rule of a target (e.g. Azure)",
      "Prints one 'PASS rule: detail', 'FAIL rule: detail' or 'WARN rule: detail' line per\n"
      "rule and a summary. Exits 0 when no rule fails (warnings allowed) and 5 when any fails.\n"
      "VMDK: --for vmdk checks the structure of the image and its snapshot chain and lists\n"
      "each descriptor line a consumer rejects as a warning; --for mvmc|qemu|virtualbox|esxi\n"
      "checks the same structure and fails on the lines that consumer rejects.\n",
      kOptions,
      kOperands,
      {},
      validate,
      run,
  };
  return spec;
}

}  // namespace vdconvert
