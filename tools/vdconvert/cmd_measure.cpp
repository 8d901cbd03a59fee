// `vdconvert measure`: how large each target's output will be (qemu-img measure's job), from the
// source's map alone (no data is read).
#include <fmt/format.h>

#include "commands.h"
#include "exit_codes.h"
#include "remote_source.h"
#include "vdisk/cloud.h"
#include "vdisk/image.h"

namespace vdconvert {
namespace {

using vdisk::invalid_argument;
using vdisk::Status;

Status validate(const MeasureArgs& args) {
  if (args.src() == "-")
    return invalid_argument(
        "measure: SRC must be a file (a stream's map is known only once it has been read)");
  VDISK_RETURN_IF_ERROR(validate_source_args(args.input, args.src(), ""));
  return validate_target_options(args.target, "measure");
}

// SRC opened as an image: a file, or a remote object (random access only).
vdisk::Result<std::unique_ptr<vdisk::BlockSource>> open_src(const MeasureArgs& args,
                                                            const vdisk::OpenOptions& opt,
                                                            RunContext& ctx) {
  if (!is_remote_source(args.src())) return vdisk::open_image(args.src(), opt);
  VDISK_ASSIGN_OR_RETURN(OpenedSource opened, open_remote_source(args.input, args.src(), ctx));
  if (!opened.file)
    return vdisk::unsupported(fmt::format(
        "measure: {}: the server does not answer ranged requests, and measuring reads the "
        "map (convert it instead)",
        opened.display));
  return vdisk::open_image(std::move(opened.file), {}, opt);
}

int run(const MeasureArgs& args, RunContext& ctx) {
  const std::string& to = args.target.name;  // "" = every target
  vdisk::OpenOptions opt;
  args.input.apply_to(opt);
  if (Status s = apply_format_options(args.target, opt); !s.ok()) return report_failure(ctx, s);
  DiagnosticLog diagnostics(ctx.console);
  opt.on_diagnostic = diagnostics.fn();
  // The input as convert opens it for the target: a target that boots opens a live ISO as the
  // disk that boots (OpenOptions::boot_disk), which is larger than the ISO.
  opt.boot_disk = !to.empty() && vdisk::target_info(to)->boots;
  auto source = open_src(args, opt, ctx);
  if (!source.ok()) return report_failure(ctx, source.status());
  std::unique_ptr<vdisk::BlockSource> booted;  // for the targets that boot, when it differs
  auto to_options = make_target_options(args.target, ctx);
  if (!to_options.ok()) return report_failure(ctx, to_options.status());
  const vdisk::PipelineOptions po;  // measure has no --threads: one per CPU

  // One target, or every target when none is named.
  std::vector<std::string_view> targets;
  if (to.empty())
    targets = vdisk::target_names();
  else
    targets.push_back(to);
  vdisk::Properties props;
  props.add("source", vdisk::redact_secrets(args.src()));
  for (std::string_view t : targets) {
    const vdisk::BlockSource* input = source->get();
    if (to.empty() && vdisk::target_info(t)->boots) {
      if (!booted) {
        // Opened a second time, as those targets open it; its notes repeat the first open's.
        vdisk::OpenOptions b = opt;
        b.boot_disk = true;
        b.on_diagnostic = nullptr;
        auto r = open_src(args, b, ctx);
        if (!r.ok()) return report_failure(ctx, r.status());
        booted = std::move(*r);
      }
      input = booted.get();
    }
    auto m = vdisk::measure(t, *input, *to_options, po);
    if (!m.ok()) {
      // A target the source cannot meet (Azure above 32 TiB) is a row saying why, unless it
      // was the one asked for.
      if (!to.empty() || m.status().code() != vdisk::Errc::invalid_argument)
        return report_failure(ctx, m.status());
      vdisk::Properties& row = props.add_list_item("measurements");
      row.add("target", t);
      row.add("error", m.status().message());
      continue;
    }
    props.add_list_item("measurements").append(m->to_properties());
  }
  if (args.json) vdisk::add_diagnostics(props, "diagnostics", diagnostics.entries());
  const std::string text = args.json ? vdisk::json_document(props) : props.to_text();
  if (Status s = ctx.console.print(text); !s.ok()) return report_failure(ctx, s);
  return kExitOk;
}

constexpr OptionSpec kOptions[] = {
    kFromOption<MeasureArgs>,
    {"--to", "-O", "TARGET", "measure this target only (default: every target)",
     store<set_to<MeasureArgs>>, false, target_choices},
    kSettingsOption<MeasureArgs>,
    kIgnoreCidOption<MeasureArgs>,
    kDiskOption<MeasureArgs>,
    kNoVerifyOption<MeasureArgs>,
    {"--json", "", "", "print JSON instead of text", store<set_true<&MeasureArgs::json>>},
    {"--quiet", "-q", "", kQuietHelp, store<set_quiet<MeasureArgs>>},
    kConnectionsOption<MeasureArgs>,
    kHttpTimeoutOption<MeasureArgs>,
    kRetriesOption<MeasureArgs>,
    kRegionOption<MeasureArgs>,
    kEndpointUrlOption<MeasureArgs>,
    kProfileOption<MeasureArgs>,
    kCaFileOption<MeasureArgs>,
    kHeaderOption<MeasureArgs>,
};
static_assert(options_store_into<MeasureArgs>(kOptions));
constexpr std::string_view kOperands[] = {"SRC"};

}  // namespace

const CommandSpec& measure_command() {
  static const CommandSpec spec{
      "measure",
      "show how large each target's output of an image will be",
      "Reads only the image's metadata (its extent map), like qemu-img measure. For each\n"
      "target: the source's virtual size and allocated bytes, the output's virtual size after\n"
      "the target's padding, and the output's size: exact for raw, vhd, azure and aws-snapshot\n"
      "(a raw file is sparse: it occupies about allocated_bytes); for compressed outputs (gcp,\n"
      "vmdk) the bytes the output stores before compression and an upper bound of the file size.\n"
      "A live ISO is measured as each target opens it (a disk that boots: --boot).\n",
      with_target_options<MeasureArgs>(kOptions),
      kOperands,
      {},
      bind_command<MeasureArgs, validate, run>,
  };
  return spec;
}

}  // namespace vdconvert
