// `vdconvert info`: what the library says about an image (vdisk::describe), as text or JSON.
#include <fmt/format.h>

#include <vector>

#include "commands.h"
#include "exit_codes.h"
#include "remote_source.h"
#include "stdin_stream.h"
#include "vdisk/image.h"

namespace vdconvert {
namespace {

int print(RunContext& ctx, const std::string& text) {
  if (vdisk::Status s = ctx.console.print(text); !s.ok()) return report_failure(ctx, s);
  return kExitOk;
}

// An input the library refused: when the probe recognised a format libvdisk does not read,
// show what it recognised (format, version, virtual size when the header states it, facts)
// before the one-line refusal, and exit as the refusal says (4 unsupported, 2 damaged).
int unreadable(const InfoArgs& args, RunContext& ctx, const vdisk::Status& status) {
  if (status.code() != vdisk::Errc::unsupported && status.code() != vdisk::Errc::corrupt)
    return report_failure(ctx, status);
  auto file = vdisk::open_file(args.src());
  if (!file.ok()) return report_failure(ctx, status);
  auto id = vdisk::identify(**file);
  if (!id.ok() || id->readable || !args.input.format.empty()) return report_failure(ctx, status);
  const vdisk::Properties props = id->to_properties();
  if (print(ctx, args.json ? vdisk::json_document(props) : props.to_text()) != kExitOk)
    return kExitIo;
  return report_failure(ctx, status);
}

vdisk::Status validate(const InfoArgs& args) {
  return validate_source_args(args.input, args.src(), "");
}

int run(const InfoArgs& args, RunContext& ctx) {
  const std::string& src = args.src();
  vdisk::OpenOptions opt;
  args.input.apply_to(opt);
  // Diagnostics go to stderr as they come and into the JSON's "diagnostics".
  DiagnosticLog diagnostics(ctx.console);
  opt.on_diagnostic = diagnostics.fn();

  vdisk::Properties props;
  if (src == "-" && ctx.stdin_is_terminal)
    return report_failure(
        ctx, vdisk::invalid_argument(
                 "info: SRC is '-' but stdin is a terminal; pipe or redirect an image"));
  std::unique_ptr<vdisk::InputStream> in;
  if (src == "-") in = cancellable_fd_stream(0, "<stdin>", ctx.stop);
  if (is_remote_source(src)) {
    auto opened = open_remote_source(args.input, src, ctx);
    if (!opened.ok()) return report_failure(ctx, opened.status());
    if (opened->file) {
      // The object's facts and what reading it took come after the image's.
      const vdisk::RemoteFile& file = *opened->file;
      auto source = vdisk::open_image(std::move(opened->file), {}, opt);
      if (!source.ok()) return report_failure(ctx, source.status());
      props = vdisk::describe(**source);
      vdisk::add_remote_source_properties(props, file);
    } else {
      in = std::move(opened->stream);
    }
  } else if (in) {
  } else {
    auto source = vdisk::open_image(src, opt);
    if (!source.ok()) return unreadable(args, ctx, source.status());
    props = vdisk::describe(**source);
  }
  if (in) {
    // A stream can only say what its header states: the format and, if stated, the size.
    auto stream = vdisk::open_image_stream(std::move(in), opt);
    if (!stream.ok()) return report_failure(ctx, stream.status());
    props.add("format", (*stream)->format());
    if (const auto size = (*stream)->size()) props.add("virtual_size", *size);
    props.add("stream", true);
  }
  if (!args.json) return print(ctx, props.to_text());
  vdisk::add_diagnostics(props, "diagnostics", diagnostics.entries());
  return print(ctx, vdisk::json_document(props));
}

constexpr OptionSpec kOptions[] = {
    kFromOption<InfoArgs>,
    {"--json", "", "", "print JSON instead of text", store<set_true<&InfoArgs::json>>},
    kIgnoreCidOption<InfoArgs>,
    kDiskOption<InfoArgs>,
    kNoVerifyOption<InfoArgs>,
    {"--quiet", "-q", "", kQuietHelp, store<set_quiet<InfoArgs>>},
    kConnectionsOption<InfoArgs>,
    kHttpTimeoutOption<InfoArgs>,
    kRetriesOption<InfoArgs>,
    kRegionOption<InfoArgs>,
    kEndpointUrlOption<InfoArgs>,
    kProfileOption<InfoArgs>,
    kCaFileOption<InfoArgs>,
    kHeaderOption<InfoArgs>,
    kSinceOption<InfoArgs>,
};
static_assert(options_store_into<InfoArgs>(kOptions));
constexpr std::string_view kOperands[] = {"SRC"};

}  // namespace

const CommandSpec& info_command() {
  static const CommandSpec spec{
      "info",
      "show an image's format, virtual size and format-specific facts",
      "SRC '-' reads standard input; only the format and, when the header states it, the\n"
      "virtual size are shown for a stream. SRC may be a remote object (ebs:snap-...,\n"
      "s3://BUCKET/KEY, an Azure blob SAS URL, an https:// URL): only what the format's\n"
      "header and map need is read, and the object's facts follow (docs/cloud.md).\n",
      kOptions,
      kOperands,
      {},
      bind_command<InfoArgs, validate, run>,
  };
  return spec;
}

}  // namespace vdconvert
