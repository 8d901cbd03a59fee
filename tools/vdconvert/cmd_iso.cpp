// `vdconvert iso ls` and `vdconvert iso extract`: browse and safely extract an ISO 9660 image's
// files through vdisk/iso9660.h.
#include <fmt/format.h>

#include <algorithm>
#include <cerrno>

#include "commands.h"
#include "exit_codes.h"
#include "vdisk/iso9660.h"

namespace vdconvert {
namespace {

namespace iso = vdisk::iso9660;

vdisk::Status set_names(IsoArgs& a, std::string_view v) {
  if (v == "rock-ridge")
    a.names = iso::NameSource::rock_ridge;
  else if (v == "joliet")
    a.names = iso::NameSource::joliet;
  else if (v == "plain")
    a.names = iso::NameSource::plain;
  else
    return vdisk::invalid_argument(
        fmt::format("--names: '{}' is not one of rock-ridge, joliet, plain", v));
  return {};
}

std::vector<std::string_view> name_choices() { return {"rock-ridge", "joliet", "plain"}; }

vdisk::Status validate(const IsoArgs& args) {
  const std::string& sub = args.operands[0];
  const auto action = parse_iso_action(sub);
  if (action == IsoAction::ls) {
    if (args.operands.size() > 3)
      return vdisk::invalid_argument(fmt::format("iso ls: unexpected argument '{}' (usage: {})",
                                                 args.operands[3], usage_lines(iso_command())[0]));
    if (args.force) return vdisk::invalid_argument("iso ls: --force only applies to 'iso extract'");
    return {};
  }
  if (action == IsoAction::extract) {
    if (args.operands.size() != 4)
      return vdisk::invalid_argument(fmt::format("iso extract: needs ISO PATH DEST (usage: {})",
                                                 usage_lines(iso_command())[1]));
    if (args.long_listing || args.recursive || args.json)
      return vdisk::invalid_argument("iso extract: -l, -R and --json only apply to 'iso ls'");
    return {};
  }
  return vdisk::invalid_argument(
      fmt::format("iso: unknown subcommand '{}' (expected 'ls' or 'extract')", sub));
}

// Control characters in names are shown escaped so that a hostile image cannot drive the
// terminal.
std::string shown(std::string_view s) {
  std::string out;
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == 0x7f)
      out += fmt::format("\\x{:02x}", c);
    else if (c == '\\')
      out += "\\\\";
    else
      out += static_cast<char>(c);
  }
  return out;
}

std::uint64_t shown_size(const iso::Entry& e) {
  return e.type == iso::EntryType::file        ? e.size
         : e.type == iso::EntryType::symlink   ? e.symlink_target.size()
         : e.type == iso::EntryType::directory ? e.stored_size
                                               : 0;
}

std::string long_line(const std::string& path, const iso::Entry& e) {
  std::string line =
      fmt::format("{} {:>3} {:>5} {:>5} {:>12} {} {}", iso::mode_string(e.mode), e.nlink, e.uid,
                  e.gid, shown_size(e), vdisk::format_time_utc(e.mtime), shown(path));
  if (e.type == iso::EntryType::symlink) line += " -> " + shown(e.symlink_target);
  return line;
}

// One entry of `iso ls --json` (docs/json.md); names are raw bytes, which to_json makes valid
// UTF-8.
void add_json_entry(vdisk::Properties& p, const std::string& path, const iso::Entry& e) {
  p.add("path", path);
  p.add("name", e.name);
  p.add("type", iso::entry_type_name(e.type));
  p.add("size", e.type == iso::EntryType::file ? e.size : 0);
  p.add("mode", fmt::format("{:o}", e.mode & 07777));
  p.add("mode_string", iso::mode_string(e.mode));
  p.add("nlink", std::uint64_t{e.nlink});
  p.add("uid", std::uint64_t{e.uid});
  p.add("gid", std::uint64_t{e.gid});
  p.add("mtime", vdisk::format_time_utc(e.mtime));
  if (e.type == iso::EntryType::symlink) p.add("target", e.symlink_target);
  if (e.zisofs) p.add("zisofs", true);
  if (e.hidden) p.add("hidden", true);
  if (e.extents.size() > 1) p.add("extents", std::uint64_t{e.extents.size()});
}

int report_failure_or_ok(RunContext& ctx, const vdisk::Status& s) {
  return s.ok() ? kExitOk : report_failure(ctx, s);
}

int write_out(RunContext& ctx, const std::string& text) {
  if (text.empty()) return kExitOk;
  if (vdisk::Status s = ctx.console.print(text); !s.ok()) return report_failure(ctx, s);
  return kExitOk;
}

vdisk::Result<std::unique_ptr<iso::Volume>> open_iso(const IsoArgs& args) {
  const std::string& path = args.iso();
  if (path == "-")
    return vdisk::invalid_argument("iso: the ISO must be a file (it is read by offset), not '-'");
  iso::VolumeOptions opt;
  opt.names = args.names;
  return iso::open_volume(path, opt);
}

int run_ls(const IsoArgs& args, RunContext& ctx) {
  auto vol = open_iso(args);
  if (!vol.ok()) return report_failure(ctx, vol.status());
  const iso::Volume& v = **vol;
  const std::string path = args.operands.size() > 2 ? args.operands[2] : "/";
  auto top = v.lookup(path);
  if (!top.ok()) return report_failure(ctx, top.status());
  const bool lng = args.long_listing, rec = args.recursive;

  std::vector<std::pair<std::string, iso::Entry>> rows;
  vdisk::Status s;
  if (top->type != iso::EntryType::directory) {
    rows.emplace_back(top->name, *top);
  } else if (rec) {
    s = v.walk(*top, [&](const std::string& p, const iso::Entry& e) {
      if (ctx.stop.stop_requested()) return vdisk::cancelled("iso ls: cancelled");
      rows.emplace_back(p, e);
      return vdisk::Status();
    });
  } else {
    auto list = v.list(*top);
    if (!list.ok()) return report_failure(ctx, list.status());
    for (auto& e : *list) rows.emplace_back(e.name, std::move(e));
  }
  if (!s.ok()) return report_failure(ctx, s);

  std::string out;
  if (args.json) {
    vdisk::Properties doc;
    doc.add("path", path);
    doc.add_list("entries");
    for (const auto& [p, e] : rows) add_json_entry(doc.add_list_item("entries"), p, e);
    out = vdisk::json_document(doc);
  } else {
    for (const auto& [p, e] : rows) out += (lng ? long_line(p, e) : shown(p)) + "\n";
  }
  return write_out(ctx, out);
}

int run_extract(const IsoArgs& args, RunContext& ctx) {
  auto vol = open_iso(args);
  if (!vol.ok()) return report_failure(ctx, vol.status());
  const iso::Volume& v = **vol;
  const std::string& path = args.operands[2];
  const std::string& dest = args.operands[3];

  if (dest == "-") {
    auto e = v.lookup(path);
    if (!e.ok()) return report_failure(ctx, e.status());
    if (e->type != iso::EntryType::file)
      return report_failure(ctx, vdisk::invalid_argument(fmt::format(
                                     "iso extract: '{}' is a {}; only a regular file can be "
                                     "streamed to '-'",
                                     path, iso::entry_type_name(e->type))));
    if (ctx.stdout_is_terminal)
      return report_failure(
          ctx, vdisk::invalid_argument("iso extract: DEST is '-' but stdout is a terminal; "
                                       "redirect or pipe it"));
    // The file itself: data, written by the library straight to descriptor 1 (not through the
    // console, which then prints nothing on stdout).
    auto sink = vdisk::fd_sink(1, "<stdout>");
    return report_failure_or_ok(ctx, iso::stream_file(v, *e, *sink, {}, ctx.stop));
  }

  iso::ExtractOptions opt;
  opt.overwrite = args.force;
  opt.on_diagnostic = ctx.console.diagnostic_fn();
  opt.stop = ctx.stop;
  const bool show = ctx.console.terminal() && args.progress != ProgressMode::never;
  if (show)
    opt.on_progress = [&](const iso::ExtractProgress& p) {
      ctx.console.status(fmt::format("extracting: {} files, {} directories, {} bytes", p.files,
                                     p.directories, p.bytes));
    };
  auto r = iso::extract(v, path, dest, opt);
  ctx.console.clear_status();
  if (!r.ok()) return report_failure(ctx, r.status());
  if (!args.quiet)
    ctx.console.line(fmt::format(
        "vdconvert: extracted {} files ({} bytes), {} directories, {} symlinks{} to {}", r->files,
        r->bytes, r->directories, r->symlinks,
        r->skipped ? fmt::format(", skipped {} special files", r->skipped) : std::string(), dest));
  return kExitOk;
}

int run(const IsoArgs& args, RunContext& ctx) {
  return args.action() == IsoAction::ls ? run_ls(args, ctx) : run_extract(args, ctx);
}

constexpr OptionSpec kOptions[] = {
    {"--long", "-l", "", "ls: long listing (mode, links, owner, group, size, mtime UTC, target)",
     store<set_true<&IsoArgs::long_listing>>},
    {"--recursive", "-R", "", "ls: list the whole tree below PATH",
     store<set_true<&IsoArgs::recursive>>},
    {"--json", "", "", "ls: print a JSON array instead of text", store<set_true<&IsoArgs::json>>},
    {"--force", "", "", "extract: replace existing files and symlinks",
     store<set_true<&IsoArgs::force>>},
    {"--names", "", "TREE", "name tree (default: the best present)", store<set_names>, false,
     name_choices},
    {"--quiet", "-q", "", "extract: no summary line and no notes", store<set_quiet<IsoArgs>>},
};
static_assert(options_store_into<IsoArgs>(kOptions));
constexpr std::string_view kOperands[] = {"ls|extract", "ISO", "[PATH]", "[DEST]"};
constexpr std::string_view kLsOperands[] = {"ISO", "[PATH]"};
constexpr std::string_view kExtractOperands[] = {"ISO", "PATH", "DEST"};
constexpr std::string_view kLsOptions[] = {"--long", "--recursive", "--json", "--names", "--quiet"};
constexpr std::string_view kExtractOptions[] = {"--force", "--names", "--quiet"};
constexpr SubcommandSpec kSubcommands[] = {
    {"ls", kLsOperands, kLsOptions, "list the directory PATH (default /) or the file PATH"},
    {"extract", kExtractOperands, kExtractOptions, "extract PATH below DEST ('-' = stdout)"},
};

}  // namespace

const CommandSpec& iso_command() {
  static const CommandSpec spec{
      "iso",
      "list or safely extract the files of an ISO 9660 image",
      "ls lists the directory PATH (default /) or the file PATH; -R lists the whole tree.\n"
      "extract writes PATH below DEST: a directory's contents into DEST (created when\n"
      "missing), a file or symlink as DEST, or into DEST when DEST is a directory. Modes,\n"
      "times and symlinks are restored; nothing is written outside DEST (no '..', absolute\n"
      "names or symlink following); existing files are kept unless --force; each file\n"
      "appears complete or not at all. DEST '-' streams one file to standard output.\n"
      "Names come from Rock Ridge, else Joliet, else plain ISO 9660 (see --names).\n",
      kOptions,
      kOperands,
      kSubcommands,
      bind_command<IsoArgs, validate, run>,
  };
  return spec;
}

}  // namespace vdconvert
