// isolinux/syslinux configuration reader (see boot_config.h).
#include <algorithm>
#include <cctype>
#include <map>

#include <fmt/format.h>

#include "formats/iso9660/livecd/boot_config.h"
#include "formats/iso9660/livecd/boot_config_text.h"
#include "formats/iso9660/livecd/kernel_args.h"

namespace vdisk::livecd {

namespace {

using detail::lower;
using detail::TextLines;

struct Label {
  std::string name;
  std::string file;  // config file it was defined in
  int line = 0;
  std::string kernel_keyword;  // "kernel", "linux", "com32", "localboot", ...
  std::string kernel;          // the kernel word as written
  std::string kernel_extra;    // words after the kernel on its line
  std::optional<std::string> append;
  std::vector<std::string> initrd_lines;  // INITRD values as written
  bool menu_default = false;
};

struct State {
  const ConfigLoader& load;
  const BootConfigLimits& limits;
  std::string cwd;  // directory of the main config
  std::vector<Label> labels;
  std::optional<std::string> global_append;
  std::string default_cmd, default_file;
  std::string ontimeout;
  bool ui = false;
  std::uint32_t files = 0;
  // The label later lines apply to: global across INCLUDE boundaries, as in syslinux.
  std::optional<std::size_t> current;
  Label* label() { return current ? &labels[*current] : nullptr; }
};

// Splits "keyword rest": keyword lowercased, rest with surrounding blanks removed.
void split_keyword(std::string_view line, std::string& keyword, std::string_view& rest) {
  const auto end = line.find_first_of(" \t");
  keyword = lower(line.substr(0, end));
  rest = end == std::string_view::npos ? std::string_view() : detail::trim(line.substr(end));
}

// Kernel-type keywords (syslinux.cfg(5)): the label runs this kind of image.
bool is_kernel_keyword(const std::string& k) {
  static const char* const kKinds[] = {"kernel",  "linux",   "boot",  "bss",    "pxe",
                                       "fdimage", "comboot", "com32", "config", "localboot"};
  return std::any_of(std::begin(kKinds), std::end(kKinds), [&](const char* x) { return k == x; });
}

// What KERNEL runs, by file extension (syslinux.cfg(5), "KERNEL file").
std::string kernel_kind(const Label& l) {
  if (l.kernel_keyword != "kernel") return l.kernel_keyword;
  const std::string k = lower(l.kernel);
  for (const auto& [ext, kind] :
       std::initializer_list<std::pair<std::string_view, std::string_view>>{{".c32", "com32"},
                                                                            {".cbt", "comboot"},
                                                                            {".com", "comboot"},
                                                                            {".bs", "boot"},
                                                                            {".bin", "boot"},
                                                                            {".bss", "bss"},
                                                                            {".0", "pxe"},
                                                                            {".img", "fdimage"}}) {
    if (k.ends_with(ext)) return std::string(kind);
  }
  return "linux";
}

Status parse_file(State& st, const std::string& path, std::string_view text, std::uint32_t depth);

Status include(State& st, const std::string& from, int line, std::string_view arg,
               std::uint32_t depth) {
  const auto words = detail::split_blank(arg);
  if (words.empty())
    return corrupt(
        fmt::format("{} line {}: expected a file name after INCLUDE, found nothing", from, line));
  if (depth + 1 > st.limits.max_include_depth)
    return resource_exhausted(fmt::format("{} line {}: INCLUDE nested deeper than {} files", from,
                                          line, st.limits.max_include_depth));
  const std::string target = resolve_iso_path(st.cwd, words[0]);
  auto text = st.load(target);
  if (!text.ok())
    return Status(text.status().code(), fmt::format("{} line {}: INCLUDE {}: {}", from, line,
                                                    target, text.status().message()));
  return parse_file(st, target, *text, depth + 1);
}

Status parse_file(State& st, const std::string& path, std::string_view text, std::uint32_t depth) {
  if (++st.files > st.limits.max_files)
    return resource_exhausted(
        fmt::format("{}: more than {} configuration files read", path, st.limits.max_files));
  if (text.size() > st.limits.max_file_bytes)
    return resource_exhausted(fmt::format("{}: {} bytes, over the limit of {}", path, text.size(),
                                          st.limits.max_file_bytes));
  bool in_text = false;
  TextLines lines(text);
  std::string_view raw;
  while (lines.next(raw)) {
    const int n = lines.number();
    const std::string_view line = detail::trim(raw);
    if (line.empty() || line.front() == '#') continue;
    std::string kw;
    std::string_view rest;
    split_keyword(line, kw, rest);
    if (in_text) {
      if (kw == "endtext") in_text = false;
      continue;
    }
    if (kw == "text") {  // TEXT HELP ... ENDTEXT
      in_text = true;
      continue;
    }
    if (kw == "menu") {
      std::string sub;
      std::string_view arg;
      split_keyword(rest, sub, arg);
      if (sub == "default") {
        if (Label* l = st.label()) l->menu_default = true;
      } else if (sub == "include") {
        VDISK_RETURN_IF_ERROR(include(st, path, n, arg, depth));
      }
      continue;
    }
    if (kw == "label") {
      if (rest.empty())
        return corrupt(
            fmt::format("{} line {}: expected a name after LABEL, found nothing", path, n));
      if (st.labels.size() >= st.limits.max_entries)
        return resource_exhausted(
            fmt::format("{} line {}: more than {} labels", path, n, st.limits.max_entries));
      Label l;
      l.name = std::string(rest);
      l.file = path;
      l.line = n;
      st.labels.push_back(std::move(l));
      st.current = st.labels.size() - 1;
      continue;
    }
    if (kw == "include") {
      VDISK_RETURN_IF_ERROR(include(st, path, n, rest, depth));
      continue;
    }
    if (kw == "default") {
      st.default_cmd = std::string(rest);
      st.default_file = path;
      continue;
    }
    if (kw == "ui") {
      st.ui = true;
      continue;
    }
    if (kw == "ontimeout") {
      st.ontimeout = std::string(rest);
      continue;
    }
    if (kw == "append") {
      if (Label* l = st.label())
        l->append = std::string(rest);
      else
        st.global_append = std::string(rest);
      continue;
    }
    if (kw == "initrd") {
      if (Label* l = st.label()) l->initrd_lines.emplace_back(rest);
      continue;
    }
    if (is_kernel_keyword(kw)) {
      Label* current = st.label();
      if (current == nullptr) continue;  // outside a label: syslinux ignores it
      const auto words = detail::split_blank(rest);
      if (words.empty() && kw != "localboot")
        return corrupt(
            fmt::format("{} line {}: expected a file name after {}, found nothing", path, n, kw));
      current->kernel_keyword = kw;
      current->kernel = words.empty() ? std::string() : words[0];
      current->kernel_extra.clear();
      for (std::size_t i = 1; i < words.size(); ++i)
        current->kernel_extra += (i > 1 ? " " : "") + words[i];
      continue;
    }
    // Everything else (TIMEOUT, PROMPT, SAY, DISPLAY, SERIAL, IPAPPEND, F1..., FONT, ...) does
    // not change what boots.
  }
  return Status();
}

const Label* find_label(const State& st, std::string_view name) {
  for (const auto& l : st.labels)
    if (l.name == name) return &l;
  const std::string want = lower(name);
  for (const auto& l : st.labels)
    if (lower(l.name) == want) return &l;
  return nullptr;
}

// Builds the entry for a kernel + command line: initrd= words move to initrds.
BootEntry make_entry(const State& st, std::string file, std::string label,
                     const std::string& kernel, const std::vector<std::string>& initrd_lines,
                     std::string_view cmdline) {
  BootEntry e;
  e.config_file = std::move(file);
  e.label = std::move(label);
  e.kernel = resolve_iso_path(st.cwd, kernel);
  const auto add_list = [&](std::string_view list) {
    std::size_t start = 0;
    while (start <= list.size()) {
      const auto comma = list.find(',', start);
      const std::string_view one = list.substr(
          start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
      if (!one.empty()) e.initrds.push_back(resolve_iso_path(st.cwd, one));
      if (comma == std::string_view::npos) break;
      start = comma + 1;
    }
  };
  for (const auto& l : initrd_lines) add_list(detail::trim(l));
  std::vector<std::string> kept;
  for (auto& w : split_kernel_args(cmdline)) {
    if (lower(std::string_view(w).substr(0, std::min<std::size_t>(w.size(), 7))) == "initrd=")
      add_list(std::string_view(w).substr(7));
    else
      kept.push_back(std::move(w));
  }
  e.append = join_kernel_args(kept);
  return e;
}

Result<BootEntry> entry_of_label(const State& st, const Label& l, std::string_view extra_args) {
  const std::string kind = kernel_kind(l);
  if (l.kernel_keyword.empty())
    return corrupt(
        fmt::format("{} line {}: label \"{}\": expected a KERNEL or LINUX line, found "
                    "none",
                    l.file, l.line, l.name));
  if (kind != "linux")
    return unsupported(
        fmt::format("{} line {}: the default label \"{}\" runs {} \"{}\", not a "
                    "Linux kernel",
                    l.file, l.line, l.name, kind, l.kernel));
  std::string cmdline = l.kernel_extra;
  const std::optional<std::string>& append = l.append ? l.append : st.global_append;
  if (append && detail::trim(*append) != "-") cmdline += " " + *append;
  if (!extra_args.empty()) cmdline += " " + std::string(extra_args);
  return make_entry(st, l.file, l.name, l.kernel, l.initrd_lines, cmdline);
}

}  // namespace

Result<BootEntry> parse_syslinux_config(const std::string& path, std::string_view text,
                                        const ConfigLoader& load, const BootConfigLimits& limits) {
  State st{load, limits, {}, {}, {}, {}, {}, {}, false, 0, std::nullopt};
  const std::string abs = resolve_iso_path("/", path);
  st.cwd = abs.substr(0, abs.rfind('/'));
  if (st.cwd.empty()) st.cwd = "/";
  VDISK_RETURN_IF_ERROR(parse_file(st, abs, text, 0));

  const auto dwords = detail::split_blank(st.default_cmd);
  const std::string dfirst = dwords.empty() ? std::string() : dwords[0];
  const bool menu = st.ui || lower(dfirst).ends_with(".c32");
  if (menu) {
    if (st.labels.empty()) return not_found(fmt::format("{}: a menu with no LABEL entries", abs));
    if (!st.ontimeout.empty()) {
      const auto w = detail::split_blank(st.ontimeout);
      if (const Label* l = find_label(st, w[0])) return entry_of_label(st, *l, {});
      return not_found(
          fmt::format("{}: ONTIMEOUT names \"{}\", which is not a label", abs, st.ontimeout));
    }
    for (const auto& l : st.labels)
      if (l.menu_default) return entry_of_label(st, l, {});
    if (!dfirst.empty())
      if (const Label* l = find_label(st, dfirst)) return entry_of_label(st, *l, {});
    return entry_of_label(st, st.labels.front(), {});
  }
  if (dfirst.empty()) {
    if (const Label* l = find_label(st, "linux")) return entry_of_label(st, *l, {});
    return not_found(
        fmt::format("{}: no DEFAULT line and no label \"linux\" (syslinux would try "
                    "a kernel named \"linux\")",
                    abs));
  }
  // DEFAULT's text was trimmed: its first word starts it.
  const std::string_view args =
      detail::trim(std::string_view(st.default_cmd).substr(dfirst.size()));
  if (const Label* l = find_label(st, dfirst)) return entry_of_label(st, *l, args);
  // DEFAULT names a kernel directly: "default vmlinuz initrd=initrd.img quiet".
  Label direct;
  direct.name = dfirst;
  direct.file = st.default_file;
  direct.kernel_keyword = "kernel";
  direct.kernel = dfirst;
  const std::string kind = kernel_kind(direct);
  if (kind != "linux")
    return unsupported(
        fmt::format("{}: DEFAULT runs {} \"{}\", not a Linux kernel", abs, kind, dfirst));
  std::string cmdline(args);
  if (st.global_append && detail::trim(*st.global_append) != "-")
    cmdline += " " + *st.global_append;
  return make_entry(st, st.default_file, dfirst, dfirst, {}, cmdline);
}

}  // namespace vdisk::livecd
