// `vdconvert descriptor show|lint|extract|replace SRC [FILE]`: the VMDK descriptor as text (the
// dsfo/dsfi byte-patching workflow, with bounds and syntax checks).
#include <fmt/format.h>

#include <cstdio>
#include <fstream>
#include <iterator>

#include "commands.h"
#include "exit_codes.h"
#include "vdisk/io.h"
#include "vdisk/properties.h"
#include "vdisk/vmdk_repair.h"

namespace vdconvert {
namespace {

using vdisk::invalid_argument;
using vdisk::Status;
namespace vm = vdisk::vmdk;

Status validate(const DescriptorArgs& args) {
  const std::string& word = args.operands[0];
  const auto action = parse_descriptor_action(word);
  if (!action)
    return invalid_argument(
        fmt::format("descriptor: unknown action '{}' (show, lint, extract, replace)", word));
  const bool needs_file =
      *action == DescriptorAction::extract || *action == DescriptorAction::replace;
  if (needs_file && args.operands.size() != 3)
    return invalid_argument(fmt::format("descriptor {}: missing FILE", word));
  if (!needs_file && args.operands.size() == 3)
    return invalid_argument(
        fmt::format("descriptor {}: unexpected argument '{}'", word, args.operands[2]));
  if (args.src() == "-") return invalid_argument("descriptor: SRC must be a file, not '-'");
  if (args.json && *action != DescriptorAction::lint)
    return invalid_argument("descriptor: --json only applies to 'descriptor lint'");
  return {};
}

int out(RunContext& ctx, std::string_view text) {
  if (Status s = ctx.console.print(text); !s.ok()) return report_failure(ctx, s);
  return kExitOk;
}

int lint(const DescriptorArgs& args, RunContext& ctx, const std::string& src,
         const vm::DescriptorArea& area) {
  vm::LintOptions lo;
  lo.standalone = !area.embedded;
  lo.area_bytes = area.embedded ? area.size : 0;
  auto findings = vm::lint_descriptor_text(area.text(), lo);
  if (!findings.ok()) return report_failure(ctx, findings.status().with_context(src));
  const unsigned mask = args.consumer.given() ? args.consumer.mask : vm::kAllConsumers;
  std::string text = vdisk::vmdk::describe_area(src, area);
  vdisk::Properties json;
  json.add("path", src);
  vdisk::vmdk::add_consumers_json(json, "consumers", mask);
  vdisk::vmdk::add_area_json(json, area);
  json.add_list("findings");
  std::size_t errors = 0, shown = 0;
  for (const auto& f : *findings) {
    if (!(f.consumers & mask)) continue;
    ++shown;
    if (f.severity == vm::LintSeverity::error) ++errors;
    text += vdisk::vmdk::render_finding(f);
    vdisk::vmdk::add_finding_json(json.add_list_item("findings"), f);
  }
  text += fmt::format("{}: {} problem(s), {} error(s) for {}\n", src, shown, errors,
                      vm::consumer_names(mask));
  json.add("problems", static_cast<std::uint64_t>(shown));
  json.add("errors", static_cast<std::uint64_t>(errors));
  json.add("clean", shown == 0);
  if (const int rc = out(ctx, args.json ? vdisk::json_document(json) : text); rc != kExitOk)
    return rc;
  return errors ? kExitCheckFailed : kExitOk;
}

vdisk::Result<std::string> read_text_file(const std::string& file) {
  constexpr std::uint64_t kLimit = vm::kMaxTextDescriptorBytes;
  std::string text;
  if (file == "-") {
    char buf[4096];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, stdin)) > 0) {
      text.append(buf, n);
      if (text.size() > kLimit)
        return invalid_argument(fmt::format("descriptor: stdin holds more than {} bytes", kLimit));
    }
    if (std::ferror(stdin)) return vdisk::errno_status(errno, "<stdin>", "read");
    return text;
  }
  VDISK_ASSIGN_OR_RETURN(auto f, vdisk::open_file(file));
  if (f->size() > kLimit)
    return invalid_argument(fmt::format("descriptor: {} is {} bytes; a descriptor has at most {}",
                                        file, f->size(), kLimit));
  text.resize(static_cast<std::size_t>(f->size()));
  VDISK_RETURN_IF_ERROR(
      f->read_at(0, std::span<std::byte>(reinterpret_cast<std::byte*>(text.data()), text.size())));
  return text;
}

int run(const DescriptorArgs& args, RunContext& ctx) {
  const DescriptorAction action = args.action();
  const std::string& src = args.src();
  auto area = vm::read_descriptor_area(src);
  if (!area.ok()) return report_failure(ctx, area.status());

  if (action == DescriptorAction::show) return out(ctx, area->text());
  if (action == DescriptorAction::lint) return lint(args, ctx, src, *area);

  const std::string& file = args.file();
  if (action == DescriptorAction::extract) {
    const std::string_view text = area->text();
    if (file == "-") return out(ctx, text);
    vdisk::FileSinkOptions so;
    so.overwrite = args.force;
    so.sparse = false;
    auto sink = vdisk::create_file_sink(file, so);
    if (!sink.ok()) return report_failure(ctx, sink.status());
    Status st = (*sink)->write(
        std::span<const std::byte>(reinterpret_cast<const std::byte*>(text.data()), text.size()));
    if (st.ok()) st = (*sink)->finish();
    if (!st.ok()) return report_failure(ctx, st);
    ctx.console.note(fmt::format("{}: {} bytes of descriptor text written to {} (area: {} bytes)",
                                 src, text.size(), file, area->size));
    return kExitOk;
  }

  // replace
  auto text = read_text_file(file);
  if (!text.ok()) return report_failure(ctx, text.status());
  // A dump of the whole area (dsfo style) carries its NUL padding: the text ends at the first NUL.
  std::string_view t = *text;
  if (const auto nul = t.find('\0'); nul != std::string_view::npos) {
    if (t.find_first_not_of('\0', nul) != std::string_view::npos)
      return report_failure(
          ctx, invalid_argument(fmt::format(
                   "descriptor replace: {} has text after a NUL byte at offset {}", file, nul)));
    t = t.substr(0, nul);
  }
  if (t == area->text()) {
    ctx.console.note(fmt::format("{}: descriptor already holds this text; nothing written", src));
    return kExitOk;
  }
  vm::WriteDescriptorOptions wo;
  wo.backup = !args.no_backup;
  auto backup = vm::write_descriptor_in_place(src, *area, t, wo);
  if (!backup.ok()) return report_failure(ctx, backup.status());
  ctx.console.note(fmt::format(
      "{}: descriptor replaced ({} -> {} bytes of text){}", src, area->text().size(), t.size(),
      backup->empty() ? std::string() : "; original saved to " + backup->string()));
  return kExitOk;
}

constexpr OptionSpec kOptions[] = {
    {"--for", "", "CONSUMER", "lint: only the problems of these consumer(s)",
     store<set_consumer<DescriptorArgs>>, false, consumer_choices},
    {"--force", "", "", "extract: replace an existing FILE",
     store<set_true<&DescriptorArgs::force>>},
    {"--json", "", "", "lint: print the findings as JSON", store<set_true<&DescriptorArgs::json>>},
    {"--no-backup", "", "", "replace: do not save the original descriptor first",
     store<set_true<&DescriptorArgs::no_backup>>},
    {"--quiet", "-q", "", kQuietHelp, store<set_quiet<DescriptorArgs>>},
};
static_assert(options_store_into<DescriptorArgs>(kOptions));
constexpr std::string_view kOperands[] = {"ACTION", "SRC", "[FILE]"};
constexpr std::string_view kSrc[] = {"SRC"};
constexpr std::string_view kSrcFile[] = {"SRC", "FILE"};
constexpr std::string_view kShowOptions[] = {"--quiet"};
constexpr std::string_view kLintOptions[] = {"--for", "--json", "--quiet"};
constexpr std::string_view kExtractOptions[] = {"--force", "--quiet"};
constexpr std::string_view kReplaceOptions[] = {"--no-backup", "--quiet"};
constexpr SubcommandSpec kActions[] = {
    {"show", kSrc, kShowOptions, "print the descriptor text"},
    {"lint", kSrc, kLintOptions, "list each line a consumer refuses (exit 5 on errors)"},
    {"extract", kSrcFile, kExtractOptions, "write the text to FILE ('-' = stdout)"},
    {"replace", kSrcFile, kReplaceOptions, "write FILE's text back ('-' = stdin)"},
};

}  // namespace

const CommandSpec& descriptor_command() {
  static const CommandSpec spec{
      "descriptor",
      "show, lint, extract or replace a VMDK's descriptor text",
      "show     print the descriptor text (embedded in a sparse/streamOptimized VMDK, or a\n"
      "         text descriptor file)\n"
      "lint     list each line MVMC, qemu, VirtualBox or ESXi refuses, with their error text;\n"
      "         exits 5 when there are errors; --json: path, consumers, area, findings [line,\n"
      "         rule, severity, key, value, consumers, message, detail, fixable], problems,\n"
      "         errors, clean\n"
      "extract  write the text (without the NUL padding) to FILE ('-' = stdout)\n"
      "replace  write FILE's text back ('-' = stdin); refused when it does not parse or does\n"
      "         not fit the descriptor area; the area is NUL-padded to its full size, the\n"
      "         original saved to SRC.descriptor-backup first\n",
      kOptions,
      kOperands,
      kActions,
      bind_command<DescriptorArgs, validate, run>,
  };
  return spec;
}

}  // namespace vdconvert
