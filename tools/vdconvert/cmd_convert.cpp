// `vdconvert convert`: one call to vdisk::convert, plus the guards only a command line needs
// (a terminal on stdout, a shell redirection that points at the input) and the reporting.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <vector>

#include "commands.h"
#include "exit_codes.h"
#include "progress.h"
#include "progress_json.h"
#include "remote_source.h"
#include "signals.h"
#include "stdin_stream.h"
#include "upload.h"
#include "vdisk/cloud.h"
#include "vdisk/image.h"
#include "vdisk/remote.h"

namespace vdconvert {
namespace {

using vdisk::invalid_argument;
using vdisk::Status;

// The window is memory (compressed grains held ahead of the output): at most 16 GiB.
constexpr std::uint64_t kMaxStreamWindowMiB = 16384;

Status set_checksums_file(ConvertArgs& a, std::string_view value) {
  if (value.empty() || value == "-") return invalid_argument("--checksums-file: give a file path");
  a.checksums = true;
  a.checksums_file = std::string(value);
  return {};
}
Status set_threads(ConvertArgs& a, std::string_view value) {
  VDISK_ASSIGN_OR_RETURN(a.threads, parse_thread_count(value));
  return {};
}
Status set_stream_window(ConvertArgs& a, std::string_view value) {
  std::uint64_t mib = 0;
  const auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), mib);
  if (value.empty() || ec != std::errc() || ptr != value.data() + value.size() || mib < 1 ||
      mib > kMaxStreamWindowMiB)
    return invalid_argument(
        fmt::format("--stream-window: '{}' is not a whole number of MiB from 1 to {}", value,
                    kMaxStreamWindowMiB));
  a.stream_window_mib = mib;
  return {};
}
std::vector<std::string_view> progress_choices() { return {"bar", "json", "json:FD"}; }

Status validate(const ConvertArgs& args) {
  if (args.target.name.empty())
    return invalid_argument(fmt::format("convert: --to is required (known: {})",
                                        fmt::join(vdisk::target_names(), ", ")));
  VDISK_RETURN_IF_ERROR(validate_target_options(args.target, "convert"));
  if (args.json && args.dst() == "-")
    return invalid_argument("convert: --json cannot be used when DST is '-' (stdout)");
  if (args.detect_zeroes && !vdisk::target_info(args.target.name)->reads_map) {
    std::vector<std::string_view> fit;
    for (const auto name : vdisk::target_names())
      if (vdisk::target_info(name)->reads_map) fit.push_back(name);
    return invalid_argument(
        fmt::format("convert: --detect-zeroes applies to --to {} only", fmt::join(fit, " or ")));
  }
  return validate_upload(args);
}

// True when the open descriptor `fd` and `path` are the same file.
bool fd_is_path(int fd, const std::string& path) {
  struct stat a, b;
  if (::fstat(fd, &a) != 0 || ::stat(path.c_str(), &b) != 0) return false;
  return S_ISREG(a.st_mode) && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

// Guards that only make sense on a command line: the library sees a stream or a sink there and
// cannot know that the shell pointed it at the other operand.
Status check_streams(const ConvertArgs& args, const RunContext& ctx) {
  const std::string& src = args.src();
  const std::string& dst = args.dst();
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
std::string shown_dst(const ConvertArgs& args) {
  const std::string& dst = args.dst();
  if (dst == "-") return "<stdout>";
  return is_upload(dst) ? vdisk::redact_secrets(dst) : dst;
}

std::string summary_line(const ConvertArgs& args, const vdisk::ConvertReport& r, double seconds) {
  const std::string src = args.src() == "-" ? "<stdin>" : vdisk::redact_secrets(args.src());
  const std::string dst = shown_dst(args);
  const double rate = seconds > 0 ? static_cast<double>(r.stats.virtual_bytes) / seconds : 0.0;
  return fmt::format(
      "vdconvert: {} ({}, {}) -> {} ({}, {}, {} written): {} data, {} zero in {:.2f} s ({})", src,
      r.source_format, format_bytes(r.source_size), dst, args.target.name,
      format_bytes(r.output_size), format_bytes(r.output_bytes), format_bytes(r.stats.data_bytes),
      format_bytes(r.stats.zero_bytes), seconds, format_rate(rate));
}

// What the output boots and what to tell each cloud about it (docs/boot.md).
std::string boot_line(const vdisk::BootSummary& b) {
  std::string line = "vdconvert: boot: " + b.summary;
  for (const vdisk::BootSummary::Cloud& c : b.clouds) {
    if (b.data_disk) break;
    if (!c.boots)
      line += fmt::format("; {}: does not boot: {}", c.cloud, c.reason);
    else if (c.setting.empty())
      line += fmt::format("; {}: pass no boot option", c.cloud);
    else
      line += fmt::format("; {}: pass {}", c.cloud, c.setting);
  }
  return line;
}

std::string checksum_lines(const ConvertArgs& args, const vdisk::Checksums& c) {
  const std::string dst = shown_dst(args);
  return fmt::format(
      "sha256 (virtual disk, {} bytes): {}\nsha256 ({}): {}\nmd5 ({}): {} (base64 {})\n"
      "crc32c ({}): {:08x} (base64 {})\n",
      c.disk_bytes, c.disk_sha256, dst, c.artifact_sha256, dst, c.artifact_md5,
      c.artifact_md5_base64, dst, c.artifact_crc32c, c.artifact_crc32c_base64);
}

// --progress=json:FD: the descriptor must be open for writing and must not be the one that
// carries the image or the --json report.
Status check_progress_fd(const ConvertArgs& args) {
  const int fd = args.progress_fd;
  const std::string what = fmt::format("--progress=json:{}", fd);
  if (fd == 1 && args.dst() == "-")
    return invalid_argument(what + ": stdout carries the image (DST '-')");
  if (fd == 1 && args.json) return invalid_argument(what + ": stdout carries the --json report");
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0) return invalid_argument(fmt::format("{}: descriptor {} is not open", what, fd));
  if ((flags & O_ACCMODE) == O_RDONLY)
    return invalid_argument(fmt::format("{}: descriptor {} is not open for writing", what, fd));
  return {};
}

// Writes the JSON lines to a descriptor other than stderr; stops at the first failed write (a
// reader that went away), the conversion goes on.
class FdLines {
 public:
  explicit FdLines(int fd) : fd_(fd) {}
  void write(std::string_view line) {
    while (ok_ && !line.empty()) {
      const ssize_t n = ::write(fd_, line.data(), line.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        ok_ = false;
        return;
      }
      line.remove_prefix(static_cast<std::size_t>(n));
    }
  }

 private:
  int fd_;
  bool ok_ = true;
};

int run(const ConvertArgs& args, RunContext& ctx) {
  const std::string& src = args.src();
  const std::string& dst = args.dst();
  // --progress=json[:FD]: the lines, and the final one for any failure from here on.
  const bool json_progress = args.progress == ProgressMode::json;
  if (json_progress && args.progress_fd != 2)
    if (Status s = check_progress_fd(args); !s.ok()) return report_failure(ctx, s);
  const auto start = std::chrono::steady_clock::now();
  std::unique_ptr<FdLines> fd_lines;
  std::unique_ptr<JsonProgressWriter> lines;
  if (json_progress) {
    JsonProgressWriter::Emit emit = [&ctx](std::string_view line) {
      (void)ctx.console.print_stderr(line);
    };
    if (args.progress_fd != 2) {
      fd_lines = std::make_unique<FdLines>(args.progress_fd);
      emit = [out = fd_lines.get()](std::string_view line) { out->write(line); };
    }
    lines = std::make_unique<JsonProgressWriter>(std::move(emit), [start] {
      return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    });
  }
  const auto fail = [&](const Status& s) {
    const int code = report_failure(ctx, s);
    if (lines) {
      const std::string message = s.code() == vdisk::Errc::cancelled ? std::string("interrupted")
                                  : s.message().empty() ? std::string(vdisk::errc_name(s.code()))
                                                        : s.message();
      lines->finish_error(message, code);
    }
    return code;
  };
  if (Status s = check_streams(args, ctx); !s.ok()) return fail(s);

  vdisk::ConvertOptions opt;
  opt.target = args.target.name;
  {
    vdisk::TargetOptions base;
    base.compress_threads = args.threads;
    base.keep_gpt = args.keep_gpt;
    base.detect_zeroes = args.detect_zeroes;
    auto to = make_target_options(args.target, ctx, std::move(base));
    if (!to.ok()) return fail(to.status());
    opt.output = std::move(*to);
  }
  args.input.apply_to(opt.open);
  if (Status s = apply_format_options(args.target, opt.open); !s.ok()) return fail(s);
  // Diagnostics go to stderr as they come and into the --json report's "diagnostics".
  DiagnosticLog diagnostics(ctx.console);
  opt.open.on_diagnostic = diagnostics.fn();
  opt.pipeline.threads = args.threads;
  opt.open.stream_window_bytes = args.stream_window_mib << 20;
  opt.overwrite = args.force;
  opt.any_output_name = args.force_name;
  opt.sync = !args.no_sync;
  opt.checksums = args.checksums;
  opt.verify_upload = args.upload.verify;
  if (!args.checksums_file.empty() && !args.force && std::filesystem::exists(args.checksums_file))
    return fail(vdisk::already_exists(
        fmt::format("{}: exists; use --force to replace it", args.checksums_file)));
  const bool show_progress = args.progress == ProgressMode::always ||
                             (args.progress == ProgressMode::automatic && ctx.stderr_is_terminal);
  ProgressBar bar(ctx.console, show_progress);
  opt.on_progress = lines ? lines->callback() : bar.callback();

  vdisk::ImageInput in;
  vdisk::ImageOutput out;
  if (src == "-") {
    in.path = "<stdin>";
    in.stream = cancellable_fd_stream(0, "<stdin>", ctx.stop);
  } else if (is_remote_source(src)) {
    auto opened = open_remote_source(args.input, src, ctx);
    if (!opened.ok()) return fail(opened.status());
    in.path = opened->display;
    in.file = std::move(opened->file);
    in.stream = std::move(opened->stream);
  } else {
    in.path = src;
  }
  std::unique_ptr<vdisk::RemoteOutput> remote;
  if (dst == "-") {
    // The image itself: data, written by the library straight to descriptor 1 (not through the
    // console, which then prints nothing on stdout).
    out.path = "<stdout>";
    out.sink = vdisk::fd_sink(1, "<stdout>");
  } else if (is_upload(dst)) {
    auto r = make_remote_output(args, ctx);
    if (!r.ok()) return fail(r.status());
    remote = std::move(*r);
    out.remote = remote.get();
    out.path = vdisk::remote_output_name(*remote);
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
    if (remote && lines)
      lines->upload_counters(remote->stats().bytes_sent, remote->stats().retries);
    // A stop that surfaced as another error (a pipe closed by the same Ctrl-C) is still an
    // interruption.
    if (ctx.stop.stop_requested()) return fail(vdisk::cancelled("interrupted"));
    return fail(result.status());
  }
  // The summary line, unless the JSON lines on stderr carry it (their final line).
  if (args.progress != ProgressMode::never && !(json_progress && args.progress_fd == 2)) {
    std::string line = summary_line(args, *result, seconds);
    if (result->source_stats) line += "; " + source_summary(*result->source_stats);
    if (result->changed_bytes)
      line += fmt::format("; {} changed since {}", format_bytes(*result->changed_bytes),
                          args.input.since);
    if (remote) line += "; " + upload_summary(remote->stats());
    ctx.console.line(line);
    if (result->boot) ctx.console.line(boot_line(*result->boot));
  }
  if (result->checksums && !args.checksums_file.empty()) {
    const std::string text =
        vdisk::json_document(vdisk::to_properties(*result->checksums, shown_dst(args)));
    vdisk::FileSinkOptions fo;
    fo.overwrite = args.force;
    fo.sync = !args.no_sync;
    auto file = vdisk::create_file_sink(args.checksums_file, fo);
    Status s = file.status();
    if (s.ok()) s = (*file)->write(std::as_bytes(std::span(text)));
    if (s.ok()) s = (*file)->finish();
    if (!s.ok()) return fail(s);
  } else if (result->checksums && !args.json) {
    // On stderr when stdout carries the image.
    const std::string text = checksum_lines(args, *result->checksums);
    const Status s = dst == "-" ? ctx.console.print_stderr(text) : ctx.console.print(text);
    if (!s.ok()) return fail(s);
  }
  if (remote && !remote->stats().object_id.empty() && !args.json)
    if (Status s = ctx.console.print(remote->stats().object_id + "\n"); !s.ok()) return fail(s);
  if (args.json || lines) {
    vdisk::ConvertReportContext rc;
    rc.source_path = vdisk::redact_secrets(src);
    rc.output_path = shown_dst(args);
    rc.target = args.target.name;
    rc.milliseconds = static_cast<std::uint64_t>(seconds * 1000.0);
    rc.zero_scan = args.detect_zeroes;
    rc.diagnostics = diagnostics.entries();
    vdisk::Properties report = vdisk::to_properties(*result, rc);
    if (remote) vdisk::add_upload_properties(report, remote->stats());
    if (args.json)
      if (Status s = ctx.console.print(vdisk::json_document(report)); !s.ok()) return fail(s);
    if (lines) lines->finish_ok(report);
  }
  return kExitOk;
}

constexpr OptionSpec kOptions[] = {
    kFromOption<ConvertArgs>,
    {"--to", "-O", "TARGET", "output target (required)", store<set_to<ConvertArgs>>, true,
     target_choices},
    {"--force", "", "", "replace an existing DST (no short form: -f is --from)",
     store<set_true<&ConvertArgs::force>>},
    {"--force-name", "", "", "gcp: write DST even if its name does not end in .tar.gz",
     store<set_true<&ConvertArgs::force_name>>},
    kIgnoreCidOption<ConvertArgs>,
    kDiskOption<ConvertArgs>,
    kNoVerifyOption<ConvertArgs>,
    {"--threads", "-j", "N", "worker threads (0 or absent: one per CPU)", store<set_threads>},
    kSettingsOption<ConvertArgs>,
    {"--no-sync", "", "",
     "do not fsync DST before renaming it into place, and write it all through the page cache (not "
     "durable; rarely faster)",
     store<set_true<&ConvertArgs::no_sync>>},
    {"--keep-gpt", "", "", "azure/gcp: pad without moving a GPT's backup to the new end",
     store<set_true<&ConvertArgs::keep_gpt>>},
    {"--detect-zeroes", "", "", "gcp: zero-scan the data first; zero blocks become holes",
     store<set_true<&ConvertArgs::detect_zeroes>>},
    {"--checksums", "", "", "print sha256 of the disk and sha256/md5/crc32c of DST",
     store<set_true<&ConvertArgs::checksums>>},
    {"--checksums-file", "", "FILE", "write those checksums as JSON to FILE",
     store<set_checksums_file>},
    {"--stream-window", "", "MiB",
     "stdin VMDK into stdout/gcp/--checksums: reorder window for early grains (default 64)",
     store<set_stream_window>},
    kResumeOption,
    kPutMd5Option,
    kVerifyOption,
    kUpdateOption,
    kConnectionsOption<ConvertArgs>,
    kHttpTimeoutOption<ConvertArgs>,
    kRetriesOption<ConvertArgs>,
    kRegionOption<ConvertArgs>,
    kEndpointUrlOption<ConvertArgs>,
    kProfileOption<ConvertArgs>,
    kCaFileOption<ConvertArgs>,
    kHeaderOption<ConvertArgs>,
    kSinceOption<ConvertArgs>,
    kParentSnapshotOption,
    kDescriptionOption,
    kTagOption,
    {"--progress",
     "-p",
     "FORMAT",
     "show progress even when stderr is not a terminal; =json: JSON lines on stderr, "
     "=json:FD: on descriptor FD (docs/json.md)",
     store<set_progress<ConvertArgs>>,
     false,
     progress_choices,
     {},
     {},
     false,
     true},
    {"--quiet", "-q", "", "no progress bar, no summary line and no notes",
     store<set_quiet<ConvertArgs>>},
    {"--json", "", "", "print a JSON report on stdout (not with DST '-')",
     store<set_true<&ConvertArgs::json>>},
};
static_assert(options_store_into<ConvertArgs>(kOptions));
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
      "writes a new EBS snapshot (EBS direct APIs) and prints its id (docs/cloud.md).\n"
      "--verify then reads the uploaded object back and compares it with digests taken\n"
      "while writing; a difference fails with exit 3 naming the first differing offset.\n"
      "SRC may live in a cloud or on a web server, read in place with no local copy:\n"
      "ebs:snap-... (an EBS snapshot), s3://BUCKET/KEY, an Azure blob's SAS URL or a managed\n"
      "disk's export URL, or any https:// URL whose server answers ranged requests (without\n"
      "them the formats that stream are read front to back). --since snap-OLD with an EBS SRC\n"
      "moves only the blocks changed since snap-OLD: into an Azure page blob with --update, or\n"
      "into a new EBS snapshot with --parent-snapshot (docs/cloud.md).\n",
      with_target_options<ConvertArgs>(kOptions),
      kOperands,
      {},
      bind_command<ConvertArgs, validate, run>,
  };
  return spec;
}

}  // namespace vdconvert
