// `vdconvert repair --for CONSUMER SRC [DST]`: fix the VMDK descriptor lines a consumer refuses,
// in place (only the descriptor bytes change) or into a repaired copy.
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <random>

#include "commands.h"
#include "exit_codes.h"
#include "vdisk/properties.h"
#include "vdisk/vmdk_repair.h"

namespace vdconvert {
namespace {

using vdisk::invalid_argument;
using vdisk::Status;
namespace vm = vdisk::vmdk;

Status add_keep(RepairArgs& a, std::string_view value) {
  std::size_t start = 0;
  while (start <= value.size()) {
    const std::size_t comma = std::min(value.find(',', start), value.size());
    const std::string_view key = value.substr(start, comma - start);
    if (key.empty() || key.find_first_of(" \t=\"") != std::string_view::npos)
      return invalid_argument(fmt::format("--keep: '{}' is not a ddb key", key));
    a.keep.emplace_back(key);
    start = comma + 1;
  }
  return {};
}

// A random (version 4) UUID as GUID text, from the system's random source.
std::string random_uuid() {
  std::random_device rd;
  std::array<unsigned char, 16> b{};
  for (std::size_t i = 0; i < b.size(); i += 4) {
    const std::uint32_t v = rd();
    for (std::size_t k = 0; k < 4; ++k) b[i + k] = static_cast<unsigned char>(v >> (8 * k));
  }
  b[6] = static_cast<unsigned char>((b[6] & 0x0F) | 0x40);
  b[8] = static_cast<unsigned char>((b[8] & 0x3F) | 0x80);
  std::string out;
  for (std::size_t i = 0; i < b.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
    out += fmt::format("{:02x}", b[i]);
  }
  return out;
}

Status validate(const RepairArgs& args) {
  if (!args.consumer.given())
    return invalid_argument("repair: --for is required (mvmc, qemu, virtualbox, esxi or all)");
  if (args.keep_only && args.keep.empty())
    return invalid_argument("repair: --keep-only needs --keep KEYS");
  for (const std::string& op : args.operands)
    if (op == "-") return invalid_argument("repair: SRC and DST must be files, not '-'");
  // Only for VirtualBox alone ("all" includes MVMC).
  if (args.add_uuids && args.consumer.mask != vm::kVirtualBox)
    return invalid_argument(
        "repair: --add-uuids needs --for virtualbox (MVMC refuses VirtualBox's ddb.uuid.* keys)");
  return {};
}

int out(RunContext& ctx, const std::string& text) {
  if (Status s = ctx.console.print(text); !s.ok()) return report_failure(ctx, s);
  return kExitOk;
}

// The report, as text and as JSON (--json); one of them is printed.
struct Report {
  std::string text;
  vdisk::Properties json;
};

int finish(const RepairArgs& args, RunContext& ctx, Report& r, std::size_t errors) {
  r.json.add("errors_remaining", static_cast<std::uint64_t>(errors));
  if (const int rc = out(ctx, args.json ? vdisk::json_document(r.json) : r.text); rc != kExitOk)
    return rc;
  return errors ? kExitCheckFailed : kExitOk;
}

int run(const RepairArgs& args, RunContext& ctx) {
  const std::string& src = args.src();
  auto area = vm::read_descriptor_area(src);
  if (!area.ok()) return report_failure(ctx, area.status());

  vm::RepairOptions opt;
  opt.consumers = args.consumer.mask;
  opt.delete_lines = args.delete_lines;
  if (args.keep_only) opt.mvmc_keep.clear();
  opt.mvmc_keep.insert(opt.mvmc_keep.end(), args.keep.begin(), args.keep.end());
  opt.standalone = !area->embedded;
  opt.area_bytes = area->embedded ? area->size : 0;
  if (args.add_uuids) {
    opt.virtualbox_image_uuid = random_uuid();
    opt.virtualbox_modification_uuid = random_uuid();
  }
  auto plan = vm::plan_repair(area->text(), opt);
  if (!plan.ok()) return report_failure(ctx, plan.status().with_context(src));

  const std::string& target = args.consumer.name;
  const std::string* dst = args.dst();
  // repair has no --no-sync: a written descriptor is always synced.
  constexpr bool kSync = true;
  Report r;
  r.json.add("path", src);
  r.json.add("for", target);
  vdisk::vmdk::add_consumers_json(r.json, "consumers", opt.consumers);
  vdisk::vmdk::add_area_json(r.json, *area);
  r.json.add("mode", args.dry_run ? "dry-run" : dst ? "copy" : "in-place");
  r.json.add("text_bytes_before", static_cast<std::uint64_t>(area->text().size()));
  r.json.add("text_bytes_after", static_cast<std::uint64_t>(plan->text.size()));
  r.json.add("edit_count", static_cast<std::uint64_t>(plan->edits.size()));
  r.text = vdisk::vmdk::describe_area(src, *area);
  r.json.add_list("edits");
  for (const auto& e : plan->edits) {
    r.text += vdisk::vmdk::render_edit(e);
    vdisk::vmdk::add_edit_json(r.json.add_list_item("edits"), e);
  }
  const auto errors = static_cast<std::size_t>(std::count_if(
      plan->remaining.begin(), plan->remaining.end(),
      [](const vm::LintFinding& f) { return f.severity == vm::LintSeverity::error; }));
  r.json.add_list("remaining");
  for (const auto& f : plan->remaining) {
    r.text += "remains: " + vdisk::vmdk::render_finding(f);
    vdisk::vmdk::add_finding_json(r.json.add_list_item("remaining"), f);
  }
  r.json.add("remaining_count", static_cast<std::uint64_t>(plan->remaining.size()));

  if (plan->edits.empty()) {
    r.text += fmt::format("{}: nothing to repair for {}\n", src, target);
    bool written = false;
    if (dst && !args.dry_run) {
      auto st = vm::write_descriptor_copy(src, *area, area->text(), *dst, args.force, kSync);
      if (!st.ok()) return report_failure(ctx, st);
      written = true;
      r.json.add("destination", *dst);
    }
    r.json.add("written", written);
    r.json.add("backup", "");
    return finish(args, ctx, r, errors);
  }
  const std::string size_note =
      fmt::format("descriptor text {} -> {} bytes", area->text().size(), plan->text.size());
  if (args.dry_run) {
    r.text += fmt::format("{}: {} edit(s) planned for {} ({}); dry run, nothing written\n", src,
                          plan->edits.size(), target, size_note);
    r.json.add("written", false);
    r.json.add("backup", "");
    return finish(args, ctx, r, errors);
  }
  if (dst) {
    auto st = vm::write_descriptor_copy(src, *area, plan->text, *dst, args.force, kSync);
    if (!st.ok()) return report_failure(ctx, st);
    r.text += fmt::format("{}: {} edit(s) for {} written to the copy {} ({})\n", src,
                          plan->edits.size(), target, *dst, size_note);
    r.json.add("written", true);
    r.json.add("destination", *dst);
    r.json.add("backup", "");
  } else {
    vm::WriteDescriptorOptions wo;
    wo.backup = !args.no_backup;
    auto backup = vm::write_descriptor_in_place(src, *area, plan->text, wo);
    if (!backup.ok()) return report_failure(ctx, backup.status());
    r.text += fmt::format("{}: {} edit(s) for {} applied in place ({})", src, plan->edits.size(),
                          target, size_note);
    r.text += backup->empty()
                  ? std::string("; no backup kept\n")
                  : fmt::format("; original descriptor saved to {}\n", backup->string());
    r.json.add("written", true);
    r.json.add("backup", backup->string());
  }
  return finish(args, ctx, r, errors);
}

constexpr OptionSpec kOptions[] = {
    {"--for", "", "CONSUMER", "the consumer(s) to repair for (required)",
     store<set_consumer<RepairArgs>>, true, consumer_choices},
    {"--dry-run", "-n", "", "print the planned edits, write nothing",
     store<set_true<&RepairArgs::dry_run>>},
    {"--delete", "", "", "MVMC: delete unknown ddb lines instead of commenting them out",
     store<set_true<&RepairArgs::delete_lines>>},
    {"--keep",
     "",
     "KEYS",
     "MVMC: also keep these ddb keys (comma-separated; repeatable)",
     store<add_keep>,
     false,
     nullptr,
     {},
     {},
     true},
    {"--keep-only", "", "", "MVMC: keep only the --keep keys, not the default set",
     store<set_true<&RepairArgs::keep_only>>},
    {"--no-backup", "", "", "in place: do not save the original descriptor first",
     store<set_true<&RepairArgs::no_backup>>},
    {"--force", "", "", "replace an existing DST", store<set_true<&RepairArgs::force>>},
    {"--add-uuids", "", "", "VirtualBox: pre-add its ddb.uuid.* keys (fresh image uuid)",
     store<set_true<&RepairArgs::add_uuids>>},
    {"--json", "", "", "print the plan and what was written as JSON",
     store<set_true<&RepairArgs::json>>},
    {"--quiet", "-q", "", kQuietHelp, store<set_quiet<RepairArgs>>},
};
static_assert(options_store_into<RepairArgs>(kOptions));
constexpr std::string_view kOperands[] = {"SRC", "[DST]"};

}  // namespace

const CommandSpec& repair_command() {
  static const CommandSpec spec{
      "repair",
      "fix the VMDK descriptor lines MVMC, qemu, VirtualBox or ESXi refuse",
      "SRC is a monolithicSparse/streamOptimized VMDK (its embedded descriptor) or a text\n"
      "descriptor (monolithicFlat, twoGbMaxExtent*, vmfs). Without DST only the descriptor\n"
      "bytes of SRC change: the original area is first saved to SRC.descriptor-backup, then\n"
      "the whole area is written once (NUL-padded to its full size) and synced; CID and every\n"
      "other byte stay as they are. With DST a repaired copy is written instead.\n"
      "Every edit is printed with its line, key, value, reason and the error text it prevents.\n"
      "MVMC keeps ddb.adapterType, ddb.geometry.{cylinders,heads,sectors,biosCylinders,\n"
      "biosHeads,biosSectors}, ddb.virtualHWVersion and ddb.toolsVersion; every other ddb line\n"
      "is commented out (or deleted with --delete). qemu: createType=\"...\" without spaces,\n"
      "CID before parentCID, quoted extent names, FLAT offsets. VirtualBox: first line\n"
      "'# Disk DescriptorFile', header/extent/ddb order (out-of-order entries move, comments\n"
      "stay), strict extent syntax, and room in the area for the ddb.uuid.* keys VirtualBox\n"
      "adds on its first read-write open (commented-out ddb lines are dropped to make it; when\n"
      "that is not enough the problem is reported with its remedies). --add-uuids writes those\n"
      "keys now (fresh image and modification uuids, zero parent uuids; base disks only).\n"
      "--json prints the same as one JSON object: area, mode (in-place, copy, dry-run), written,\n"
      "backup (path, or \"\"), edits [line, action, rule, key, value, consumers, reason,\n"
      "prevents, mvmc_message, before, after], remaining [lint findings], errors_remaining.\n"
      "Restore with: vdconvert descriptor replace SRC SRC.descriptor-backup\n"
      "Exits 0 when nothing the consumer refuses remains, 5 when problems remain that repair\n"
      "cannot fix (they are listed).\n",
      kOptions,
      kOperands,
      {},
      bind_command<RepairArgs, validate, run>,
  };
  return spec;
}

}  // namespace vdconvert
