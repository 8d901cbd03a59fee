// VMDK descriptor lint, the shared part (see vdisk/vmdk_repair.h and lint_rules.h): the raw-line
// view, canonical line forms, the lint context, the rules shared by several consumers, and the
// public entry points, which run each consumer's rules (lint_mvmc.cpp, lint_qemu.cpp,
// lint_virtualbox.cpp, lint_esxi.cpp) in a fixed order. Facts: VMware's technote, "The Descriptor
// File" (grammar); docs/vmdk.md §2 (qemu's byte-literal look-ups) and §3 (MVMC's ddb whitelist);
// VirtualBox's VMDK backend behaviour (first line, entry order, strict extent syntax) as observed
// in its descriptor pre-processing.
#include "formats/vmdk/doctor/descriptor_lint.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>

#include "formats/vmdk/doctor/lint_rules.h"

namespace vdisk::vmdk {
namespace lint {
namespace {

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

constexpr std::array<std::string_view, 7> kHeaderKeys{
    "version",    "encoding",          "CID", "parentCID", "isNativeSnapshot",
    "createType", "parentFileNameHint"};

}  // namespace

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower(b[i])) return false;
  return true;
}

bool is_ddb_key(std::string_view key) {
  return key.size() >= 4 && iequals(key.substr(0, 4), "ddb.");
}

std::string_view text_before_nul(std::string_view text) {
  if (const std::size_t nul = text.find('\0'); nul != std::string_view::npos)
    text = text.substr(0, nul);
  return text;
}

std::vector<RawLine> split_lines(std::string_view text) {
  text = text_before_nul(text);
  std::vector<RawLine> out;
  while (!text.empty()) {
    const std::size_t nl = text.find('\n');
    std::string_view whole = nl == std::string_view::npos ? text : text.substr(0, nl + 1);
    text.remove_prefix(whole.size());
    std::size_t body = whole.size();
    if (body > 0 && whole[body - 1] == '\n') --body;
    while (body > 0 && whole[body - 1] == '\r') --body;  // the parser strips every trailing CR
    out.push_back({whole.substr(0, body), whole.substr(body)});
  }
  return out;
}

std::string_view dominant_line_end(const std::vector<RawLine>& lines) {
  std::size_t crlf = 0, lf = 0;
  for (const RawLine& l : lines) {
    if (l.end == "\r\n")
      ++crlf;
    else if (l.end == "\n")
      ++lf;
  }
  return crlf > lf ? "\r\n" : "\n";
}

std::string canonical_extent(const ExtentLine& e) {
  std::string out =
      fmt::format("{} {} {}", access_name(e.access), e.sectors, extent_type_name(e.type));
  if (e.file) out += fmt::format(" \"{}\"", *e.file);
  if (e.offset) out += fmt::format(" {}", *e.offset);
  for (const std::string& x : e.extra) out += " " + x;
  return out;
}

std::string canonical_entry(std::string_view key, std::string_view value, bool quoted) {
  const std::string v = quoted ? fmt::format("\"{}\"", value) : std::string(value);
  return is_ddb_key(key) ? fmt::format("{} = {}", key, v) : fmt::format("{}={}", key, v);
}

LintFinding& LintContext::add(std::string rule, std::size_t line, unsigned consumers,
                              LintSeverity severity, bool fixable, std::string detail,
                              std::string message) {
  LintFinding f;
  f.rule = std::move(rule);
  f.line = line;
  f.consumers = consumers;
  f.severity = severity;
  f.fixable = fixable;
  f.detail = std::move(detail);
  f.message = std::move(message);
  findings.push_back(std::move(f));
  return findings.back();
}

std::string_view LintContext::body(std::size_t number) const {
  return number >= 1 && number <= raw.size() ? raw[number - 1].body : std::string_view{};
}

std::size_t LintContext::line_of_offset(std::size_t at) const {
  std::size_t pos = 0;
  for (std::size_t i = 0; i < raw.size(); ++i) {
    pos += raw[i].body.size() + raw[i].end.size();
    if (at < pos) return i + 1;
  }
  return 0;
}

void lint_key_case(LintContext& c) {
  for (const DescriptorLine& l : c.descriptor.lines) {
    if (l.kind != DescriptorLine::Kind::entry || is_ddb_key(l.key)) continue;
    for (std::string_view k : kHeaderKeys) {
      if (iequals(k, l.key) && k != l.key) {
        LintFinding& f = c.add("key-case", l.number, kQemu | kVirtualBox, LintSeverity::error, true,
                               fmt::format("qemu and VirtualBox match keys case-sensitively; "
                                           "write '{}', not '{}'",
                                           k, l.key));
        f.key = l.key;
        f.value = l.value;
      }
    }
  }
}

}  // namespace lint

std::string consumer_names(unsigned mask) {
  std::string out;
  const std::pair<unsigned, std::string_view> names[] = {
      {kMvmc, "MVMC"}, {kQemu, "qemu"}, {kVirtualBox, "VirtualBox"}, {kEsxi, "ESXi"}};
  for (const auto& [bit, name] : names)
    if (mask & bit) {
      if (!out.empty()) out += ", ";
      out += name;
    }
  return out;
}

std::optional<unsigned> parse_consumer(std::string_view name) {
  if (name == "mvmc") return kMvmc;
  if (name == "qemu") return kQemu;
  if (name == "virtualbox") return kVirtualBox;
  if (name == "esxi") return kEsxi;
  if (name == "all") return kAllConsumers;
  return std::nullopt;
}

std::string_view severity_name(LintSeverity severity) noexcept {
  return severity == LintSeverity::error ? "error" : "warning";
}

std::vector<LintFinding> lint_descriptor(const Descriptor& descriptor, std::string_view text,
                                         const LintOptions& options) {
  lint::LintContext c(descriptor, text, options);
  // Whole-descriptor rules first, then the per-line ones. The order matters only for findings
  // on the same line (the sort below is stable).
  lint::lint_virtualbox_first_line(c);
  lint::lint_esxi_create_type(c);
  lint::lint_virtualbox_version(c);
  lint::lint_esxi_version_first(c);
  lint::lint_qemu_identity(c);
  if (options.standalone) lint::lint_qemu_extents(c);
  lint::lint_virtualbox_structure(c);
  lint::lint_mvmc_ddb_entries(c);  // ddb entries ...
  lint::lint_key_case(c);          // ... and header entries: never the same line
  std::stable_sort(c.findings.begin(), c.findings.end(),
                   [](const LintFinding& a, const LintFinding& b) { return a.line < b.line; });
  return std::move(c.findings);
}

Result<std::vector<LintFinding>> lint_descriptor_text(std::string_view text,
                                                      const LintOptions& options) {
  VDISK_ASSIGN_OR_RETURN(Descriptor d, parse_descriptor(text));
  return lint_descriptor(d, text, options);
}

}  // namespace vdisk::vmdk
