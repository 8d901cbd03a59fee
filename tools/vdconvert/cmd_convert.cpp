// `vdconvert convert`: one call to vdisk::convert, plus the guards only a command line needs
// (a terminal on stdout, a shell redirection that points at the input) and the reporting.
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <charconv>
#include <chrono>
#include <filesystem>
#include <vector>

#include "commands.h"
#include "exit_codes.h"
#include "progress.h"
#include "signals.h"
#include "stdin_stream.h"
#include "upload.h"
#include "vdisk/cloud.h"
#include "vdisk/image.h"

namespace vdconvert {
namespace {

using vdisk::invalid_argument;
using vdisk::Status;

// The window is memory (compressed grains held ahead of the output): at most 16 GiB.
constexpr std::uint64_t kMaxStreamWindowMiB = 16384;

Status apply_no_sync(Command& cmd, std::string_view) {
  cmd.no_sync = true;
  return {};
}
Status apply_force_name(Command& cmd, std::string_view) {
  cmd.flags.emplace_back("force-name");
  return {};
}
Status apply_keep_gpt(Command& cmd, std::string_view) {
  cmd.keep_gpt = true;
  return {};
}
Status apply_detect_zeroes(Command& cmd, std::string_view) {
  cmd.detect_zeroes = true;
  return {};
}
Status apply_checksums(Command& cmd, std::string_view) {
  cmd.checksums = true;
  return {};
}
Status apply_checksums_file(Command& cmd, std::string_view value) {
  if (value.empty() || value == "-") return invalid_argument("--checksums-file: give a file path");
  cmd.checksums = true;
  cmd.checksums_file = std::string(value);
  return {};
}
Status apply_threads(Command& cmd, std::string_view value) {
  VDISK_ASSIGN_OR_RETURN(cmd.threads, parse_thread_count(value));
  return {};
}
Status apply_stream_window(Command& cmd, std::string_view value) {
  std::uint64_t mib = 0;
  const auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), mib);
  if (value.empty() || ec != std::errc() || ptr != value.data() + value.size() || mib < 1 ||
      mib > kMaxStreamWindowMiB)
    return invalid_argument(
        fmt::format("--stream-window: '{}' is not a whole number of MiB from 1 to {}", value,
                    kMaxStreamWindowMiB));
  cmd.stream_window_mib = mib;
  return {};
}
Status validate(const Command& cmd) {
  if (cmd.to.empty())
    return invalid_argument(fmt::format("convert: --to is required (known: {})",
                                        fmt::join(vdisk::target_names(), ", ")));
  VDISK_RETURN_IF_ERROR(validate_target_options(cmd, "convert"));
  if (cmd.json && cmd.operands[1] == "-")
    return invalid_argument("convert: --json cannot be used when DST is '-' (stdout)");
  if (cmd.detect_zeroes && !vdisk::target_info(cmd.to)->reads_map) {
    std::vector<std::string_view> fit;
    for (const auto name : vdisk::target_names())
      if (vdisk::target_info(name)->reads_map) fit.push_back(name);
    return invalid_argument(
        fmt::format("convert: --detect-zeroes applies to --to {} only", fmt::join(fit, " or ")));
  }
  return validate_upload(cmd);
}

// True when the open descriptor `fd` and `path` are the same file.
bool fd_is_path(int fd, const std::string& path) {
  struct stat a, b;
  if (::fstat(fd, &a) != 0 || ::stat(path.c_str(), &b) != 0) return false;
  return S_ISREG(a.st_mode) && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

// Guards that only make sense on a command line: the library sees a stream or a sink there and
// cannot know that the shell pointed it at the other operand.
Status check_streams(const Command& cmd, const RunContext& ctx) {
  const std::string& src = cmd.operands[0];
  const std::string& dst = cmd.operands[1];
  if (dst == "-" && ctx.stdout_is_terminal)
    return invalid_argument(
        "convert: refusing to write image bytes to a terminal; redirect stdout or give a DST path");
  if (src == "-" && ctx.stdin_is_terminal)
    return invalid_argument(
        "convert: SRC is '-' but stdin is a terminal; pipe or redirect an image");
  if (dst == "-" && src != "-" && fd_is_path(1, src))
    return invalid_argument(
        fmt::format("convert: stdout is the input file {}; refusing to write over it", src));
  if (src == "-" && dst != "-" && fd_is_path(0, dst))
    return invalid_argument(
        fmt::format("convert: stdin is the output file {}; refusing to replace the input", dst));
  return {};
}

// DST as messages show it: "<stdout>", a URL without its secrets, or the path.
std::string shown_dst(const Command& cmd) {
  const std::string& dst = cmd.operands[1];
  if (dst == "-") return "<stdout>";
  return is_upload(dst) ? vdisk::redact_secrets(dst) : dst;
}

std::string summary_line(const Command& cmd, const vdisk::ConvertReport& r, double seconds) {
  const std::string src = cmd.operands[0] == "-" ? "<stdin>" : cmd.operands[0];
  const std::string dst = shown_dst(cmd);
  const double rate = seconds > 0 ? static_cast<double>(r.stats.virtual_bytes) / seconds : 0.0;
  return fmt::format(
      "vdconvert: {} ({}, {}) -> {} ({}, {}, {} written): {} data, {} zero in {:.2f} s ({})", src,
      r.source_format, format_bytes(r.source_size), dst, cmd.to, format_bytes(r.output_size),
      format_bytes(r.output_bytes), format_bytes(r.stats.data_bytes),
      format_bytes(r.stats.zero_bytes), seconds, format_rate(rate));
}

std::string checksum_lines(const Command& cmd, const vdisk::Checksums& c) {
  const std::string dst = shown_dst(cmd);
  return fmt::format(
      "sha256 (virtual disk, {} bytes): {}\nsha256 ({}): {}\nmd5 ({}): {} (base64 {})\n"
      "crc32c ({}): {:08x} (base64 {})\n",
      c.disk_bytes, c.disk_sha256, dst, c.artifact_sha256, dst, c.artifact_md5,
      c.artifact_md5_base64, dst, c.artifact_crc32c, c.artifact_crc32c_base64);
}

int run(const Command& cmd, RunContext& ctx) {
  const std::string& src = cmd.operands[0];
  const std::string& dst = cmd.operands[1];
  if (Status s = check_streams(cmd, ctx); !s.ok()) return report_failure(ctx, s);

  vdisk::ConvertOptions opt;
  opt.target = cmd.to;
  {
    auto to = make_target_options(cmd, ctx);
    if (!to.ok()) return report_failure(ctx, to.status());
    opt.output = std::move(*to);
  }
  opt.open.format = cmd.from;
  opt.open.ignore_parent_identity = flag_set(cmd, "ignore-cid");
  apply_package_options(cmd, opt.open);
  if (Status s = apply_format_options(cmd, opt.open); !s.ok()) return report_failure(ctx, s);
  // Diagnostics go to stderr as they come and into the --json report's "diagnostics".
  DiagnosticLog diagnostics(ctx.console);
  opt.open.on_diagnostic = diagnostics.fn();
  opt.pipeline.threads = cmd.threads;
  opt.open.stream_window_bytes = cmd.stream_window_mib << 20;
  opt.overwrite = cmd.force;
  opt.any_output_name = flag_set(cmd, "force-name");
  opt.sync = !cmd.no_sync;
  opt.checksums = cmd.checksums;
  if (!cmd.checksums_file.empty() && !cmd.force && std::filesystem::exists(cmd.checksums_file))
    return report_failure(ctx, vdisk::already_exists(fmt::format(
                                   "{}: exists; use --force to replace it", cmd.checksums_file)));
  const bool show_progress = cmd.progress == ProgressMode::always ||
                             (cmd.progress == ProgressMode::automatic && ctx.stderr_is_terminal);
  ProgressBar bar(ctx.console, show_progress);
  opt.on_progress = bar.callback();

  vdisk::ImageInput in;
  vdisk::ImageOutput out;
  if (src == "-") {
    in.path = "<stdin>";
    in.stream = cancellable_fd_stream(0, "<stdin>", ctx.stop);
  } else {
    in.path = src;
  }
  std::unique_ptr<vdisk::RemoteOutput> remote;
  if (dst == "-") {
    out.path = "<stdout>";
    out.sink = vdisk::fd_sink(1, "<stdout>");
  } else if (is_upload(dst)) {
    auto r = make_remote_output(cmd, ctx);
    if (!r.ok()) return report_failure(ctx, r.status());
    remote = std::move(*r);
    out.remote = remote.get();
    // The blob's name, where a format records its file name.
    const std::string shown = remote->display_name();
    const std::size_t q = shown.find('?');
    out.path = std::filesystem::path(shown.substr(0, q)).filename();
  } else {
    out.path = dst;
  }

  const auto t0 = std::chrono::steady_clock::now();
  if (ctx.signals) ctx.signals->set_cancellable(true);
  auto result = vdisk::convert(std::move(in), std::move(out), opt, ctx.stop);
  if (ctx.signals) ctx.signals->set_cancellable(false);
  bar.finish();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!result.ok()) {
    // What became of a partial upload.
    if (remote && !remote->stats().cleanup.empty()) ctx.console.note(remote->stats().cleanup);
    // A stop that surfaced as another error (a pipe closed by the same Ctrl-C) is still an
    // interruption.
    if (ctx.stop.stop_requested()) return report_failure(ctx, vdisk::cancelled("interrupted"));
    return report_failure(ctx, result.status());
  }
  if (cmd.progress != ProgressMode::never) {
    std::string line = summary_line(cmd, *result, seconds);
    if (remote) line += "; " + upload_summary(remote->stats());
    ctx.console.line(line);
  }
  if (result->checksums && !cmd.checksums_file.empty()) {
    const std::string text =
        vdisk::json_document(vdisk::to_properties(*result->checksums, shown_dst(cmd)));
    vdisk::FileSinkOptions fo;
    fo.overwrite = cmd.force;
    fo.sync = !cmd.no_sync;
    auto file = vdisk::create_file_sink(cmd.checksums_file, fo);
    Status s = file.status();
    if (s.ok()) s = (*file)->write(std::as_bytes(std::span(text)));
    if (s.ok()) s = (*file)->finish();
    if (!s.ok()) return report_failure(ctx, s);
  } else if (result->checksums && !cmd.json) {
    const std::string text = checksum_lines(cmd, *result->checksums);
    FILE* to = dst == "-" ? stderr : stdout;
    if (std::fwrite(text.data(), 1, text.size(), to) != text.size() || std::fflush(to) != 0)
      return report_failure(ctx, vdisk::errno_status(errno, "<stdout>", "write"));
  }
  if (remote && !remote->stats().object_id.empty() && !cmd.json) {
    const std::string id = remote->stats().object_id + "\n";
    if (std::fwrite(id.data(), 1, id.size(), stdout) != id.size() || std::fflush(stdout) != 0)
      return report_failure(ctx, vdisk::errno_status(errno, "<stdout>", "write"));
  }
  if (cmd.json) {
    vdisk::ConvertReportContext rc;
    rc.source_path = src;
    rc.output_path = shown_dst(cmd);
    rc.target = cmd.to;
    rc.milliseconds = static_cast<std::uint64_t>(seconds * 1000.0);
    rc.zero_scan = cmd.detect_zeroes;
    rc.diagnostics = diagnostics.entries();
    vdisk::Properties report = vdisk::to_properties(*result, rc);
    if (remote) add_upload_properties(report, remote->stats());
    const std::string text = vdisk::json_document(report);
    if (std::fwrite(text.data(), 1, text.size(), stdout) != text.size() || std::fflush(stdout) != 0)
      return report_failure(ctx, vdisk::errno_status(errno, "<stdout>", "write"));
  }
  return kExitOk;
}

constexpr OptionSpec kOptions[] = {
    {"--from", "-f", "FMT", "input format (default: probe)", apply_from, false,
     input_format_choices},
    {"--to", "-O", "TARGET", "output target (required)", apply_to, true, target_choices},
    {"--force", "", "", "replace an existing DST (no short form: -f is --from)", apply_force},
    {"--force-name", "", "", "gcp: write DST even if its name does not end in .tar.gz",
     apply_force_name},
    {"--ignore-cid", "", "", kIgnoreCidHelp, apply_ignore_cid},
    kDiskOption,
    kNoVerifyOption,
    {"--threads", "-j", "N", "worker threads (0 or absent: one per CPU)", apply_threads},
    kSettingsOption,
    {"--no-sync", "", "",
     "do not fsync DST before renaming it into place, and write it all through the page cache (not "
     "durable; rarely faster)",
     apply_no_sync},
    {"--keep-gpt", "", "", "azure/gcp: pad without moving a GPT's backup to the new end",
     apply_keep_gpt},
    {"--detect-zeroes", "", "", "gcp: zero-scan the data first; zero blocks become holes",
     apply_detect_zeroes},
    {"--checksums", "", "", "print sha256 of the disk and sha256/md5/crc32c of DST",
     apply_checksums},
    {"--checksums-file", "", "FILE", "write those checksums as JSON to FILE", apply_checksums_file},
    {"--stream-window", "", "MiB",
     "stdin VMDK into stdout/gcp/--checksums: reorder window for early grains (default 64)",
     apply_stream_window},
    kResumeOption,
    kPutMd5Option,
    kConnectionsOption,
    kHttpTimeoutOption,
    kRetriesOption,
    kRegionOption,
    kEndpointUrlOption,
    kProfileOption,
    kDescriptionOption,
    kTagOption,
    {"--progress", "-p", "", "show progress even when stderr is not a terminal", apply_progress},
    {"--quiet", "-q", "", "no progress bar, no summary line and no notes", apply_quiet},
    {"--json", "", "", "print a JSON report on stdout (not with DST '-')", apply_json},
};
constexpr std::string_view kOperands[] = {"SRC", "DST"};

}  // namespace

const CommandSpec& convert_command() {
  static const CommandSpec spec{
      "convert",
      "convert a disk image to raw, a fixed VHD, an Azure VHD, a GCP tarball or a VMDK",
      "SRC '-' reads standard input (formats that can be streamed); DST '-' writes standard\n"
      "output (refused when stdout is a terminal). DST is written through a temporary file\n"
      "and renamed into place on success: on any failure or interruption no DST is left.\n"
      "An existing DST is replaced only with --force; SRC itself is never written.\n"
      "A streamOptimized VMDK on stdin: into a DST file with --to raw, vhd or azure, grains\n"
      "are written where they belong as they arrive, in any order; into stdout, --to gcp or\n"
      "with --checksums (all written front to back), grains that come early wait in a\n"
      "reorder window (--stream-window MiB, default 64),\n"
      "and an image out of order by more than it fails with exit 2 and no DST.\n"
      "--to vmdk writes a streamOptimized VMDK (compressed grains, for AWS VM Import and\n"
      "ESXi/ovftool; it streams, so DST may be '-'), or with --subformat monolithicSparse an\n"
      "uncompressed VMDK for VMware Workstation (DST must be a file).\n"
      "SOURCE_DATE_EPOCH, when set, is stored as the VHD footer timestamp and the GCP tar\n"
      "mtime, and pins the VHD unique id and the VMDK uuid and CID: the same input and options\n"
      "then give the same bytes.\n"
      "DST may be an Azure page blob URL with a SAS, or a managed disk's upload URL\n"
      "(https://; http:// only to a loopback emulator), with --to azure or vhd: the output is\n"
      "uploaded as it is made, data only, nothing written locally; the SAS signature is never\n"
      "shown. On failure a blob this run created is deleted; --resume continues an\n"
      "interrupted upload instead. DST s3://BUCKET/KEY uploads any target to S3 (multipart;\n"
      "credentials and region as the AWS CLI finds them); --to aws-snapshot with DST 'ebs:'\n"
      "writes a new EBS snapshot (EBS direct APIs) and prints its id (docs/cloud.md).\n",
      with_target_options(kOptions),
      kOperands,
      {},
      validate,
      run,
  };
  return spec;
}

}  // namespace vdconvert
