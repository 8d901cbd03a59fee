// `vdconvert check [--for TARGET] FILE`: re-read a written image and report every rule of the
// target, one line each. Without --for the library names the rule set for the file's format
// (vdisk::default_check_target: a VMDK has one); other formats need --for.
#include <fmt/format.h>

#include <algorithm>

#include "commands.h"
#include "exit_codes.h"
#include "remote_source.h"
#include "vdisk/check.h"

namespace vdconvert {
namespace {

using vdisk::invalid_argument;
using vdisk::Status;

Status set_target(CheckArgs& a, std::string_view value) {
  const auto targets = vdisk::check_targets();
  if (std::find(targets.begin(), targets.end(), value) == targets.end())
    return invalid_argument(fmt::format("--for: unknown check target '{}' (known: {})", value,
                                        fmt::join(targets, ", ")));
  a.target = std::string(value);
  return {};
}

Status validate(const CheckArgs& args) {
  if (args.file() == "-")
    return invalid_argument("check: FILE must be a file (check re-reads it); '-' is not allowed");
  return validate_source_args(args.input, args.file(), "");
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

int run(const CheckArgs& args, RunContext& ctx) {
  // A remote object is checked where it lives: each rule set reads what its rules need.
  std::unique_ptr<vdisk::RemoteFile> remote;
  std::string display = args.file();
  if (is_remote_source(args.file())) {
    auto opened = open_remote_source(args.input, args.file(), ctx);
    if (!opened.ok()) return report_failure(ctx, opened.status().with_context("check"));
    if (!opened->file)
      return report_failure(
          ctx, vdisk::unsupported(fmt::format("check: {}: the server does not answer ranged "
                                              "requests, and a check re-reads parts of the file",
                                              opened->display)));
    remote = std::move(opened->file);
    display = opened->display;
  }
  std::string target = args.target;
  if (target.empty()) {
    auto probed = remote ? vdisk::default_check_target(*remote, display)
                         : vdisk::default_check_target(args.file());
    if (!probed.ok()) return report_failure(ctx, probed.status().with_context("check"));
    target = *probed;
  }
  vdisk::CheckOptions options;
  options.ignore_parent_identity = args.ignore_cid;
  auto report = remote ? vdisk::check_image(std::move(remote), display, target, options)
                       : vdisk::check_image(args.file(), target, options);
  if (!report.ok()) return report_failure(ctx, report.status());
  const std::string text =
      args.json ? vdisk::json_document(report->to_properties()) : render_text(*report);
  if (Status s = ctx.console.print(text); !s.ok()) return report_failure(ctx, s);
  return report->passed() ? kExitOk : kExitCheckFailed;
}

constexpr OptionSpec kOptions[] = {
    {"--for", "", "TARGET",
     "rule set: azure, gcp, aws (VM Import), vmdk, or a VMDK consumer mvmc, qemu, virtualbox, "
     "esxi (default: vmdk for a VMDK; required otherwise)",
     store<set_target>, false, check_target_choices},
    {"--ignore-cid", "", "", "VMDK: report a parentCID mismatch as a warning, not a failure",
     store<set_true<&CheckArgs::ignore_cid>>},
    {"--json", "", "", "print the report as JSON", store<set_true<&CheckArgs::json>>},
    {"--quiet", "-q", "", kQuietHelp, store<set_quiet<CheckArgs>>},
    kConnectionsOption<CheckArgs>,
    kHttpTimeoutOption<CheckArgs>,
    kRetriesOption<CheckArgs>,
    kRegionOption<CheckArgs>,
    kEndpointUrlOption<CheckArgs>,
    kProfileOption<CheckArgs>,
    kCaFileOption<CheckArgs>,
    kHeaderOption<CheckArgs>,
};
static_assert(options_store_into<CheckArgs>(kOptions));
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
      "checks the same structure and fails on the lines that consumer rejects.\n"
      "azure, gcp and aws also check what the disk boots and name the boot setting to pass\n"
      "(docs/boot.md); a disk without boot code is a data disk and passes.\n"
      "FILE may be a remote object (s3://, an Azure blob SAS URL, https://, ebs:snap-...):\n"
      "it is checked where it lives, reading only what the rules need (docs/cloud.md).\n",
      kOptions,
      kOperands,
      {},
      bind_command<CheckArgs, validate, run>,
  };
  return spec;
}

}  // namespace vdconvert
