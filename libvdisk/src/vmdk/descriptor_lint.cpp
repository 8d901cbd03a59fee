// VMDK descriptor lint: which consumer refuses which descriptor line (see vdisk/vmdk_repair.h).
// Facts: shared/docs/formats.md 1.7 (grammar), 1.9 (qemu's byte-literal look-ups), 2 (MVMC's ddb
// whitelist); VirtualBox's VMDK backend behaviour (first line, entry order, strict extent syntax)
// as observed in its descriptor pre-processing.
#include "vmdk/descriptor_lint.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <charconv>

namespace vdisk::vmdk {
namespace lint {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f'; }
char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }
bool is_hex(char c) { return (c >= '0' && c <= '9') || (lower(c) >= 'a' && lower(c) <= 'f'); }

}  // namespace

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower(b[i])) return false;
  return true;
}

bool is_ddb_key(std::string_view key) { return key.size() >= 4 && iequals(key.substr(0, 4), "ddb."); }

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
    if (l.end == "\r\n") ++crlf;
    else if (l.end == "\n") ++lf;
  }
  return crlf > lf ? "\r\n" : "\n";
}

QemuLookup qemu_cid(std::string_view text, bool parent) {
  text = text_before_nul(text).substr(0, kQemuDescWindow);
  const std::string_view name = parent ? "parentCID" : "CID";
  QemuLookup r;
  const std::size_t at = text.find(name);
  if (at == std::string_view::npos) return r;
  r.at = at;
  std::size_t p = at + name.size() + 1;  // qemu skips the name and one more byte ('=')
  if (p > text.size()) return r;
  // sscanf("%x"): white space, an optional sign, an optional 0x prefix, hex digits.
  while (p < text.size() && is_space(text[p])) ++p;
  bool negative = false;
  if (p < text.size() && (text[p] == '+' || text[p] == '-')) negative = text[p++] == '-';
  if (p + 1 < text.size() && text[p] == '0' && lower(text[p + 1]) == 'x' && p + 2 < text.size() &&
      is_hex(text[p + 2]))
    p += 2;
  std::uint64_t v = 0;
  std::size_t digits = 0;
  for (; p < text.size() && is_hex(text[p]); ++p, ++digits) {
    const char c = lower(text[p]);
    v = (v << 4) | static_cast<std::uint64_t>(c <= '9' ? c - '0' : c - 'a' + 10);
    v &= 0xFFFFFFFFull;
  }
  if (digits == 0) return r;
  r.found = true;
  r.cid = static_cast<std::uint32_t>(negative ? (0x100000000ull - v) & 0xFFFFFFFFull : v);
  return r;
}

QemuLookup qemu_string(std::string_view text, std::string_view name) {
  text = text_before_nul(text).substr(0, kQemuDescWindow);
  QemuLookup r;
  const std::size_t at = text.find(name);
  if (at == std::string_view::npos) return r;
  r.at = at;
  const std::size_t p = at + name.size() + 2;  // qemu skips `="` without looking at it
  if (p >= text.size()) return r;
  const std::size_t close = text.find('"', p);
  if (close == std::string_view::npos) return r;
  r.found = true;
  r.text = std::string(text.substr(p, close - p));
  return r;
}

std::string canonical_extent(const ExtentLine& e) {
  std::string out = fmt::format("{} {} {}", access_name(e.access), e.sectors, extent_type_name(e.type));
  if (e.file) out += fmt::format(" \"{}\"", *e.file);
  if (e.offset) out += fmt::format(" {}", *e.offset);
  for (const std::string& x : e.extra) out += " " + x;
  return out;
}

std::string canonical_entry(std::string_view key, std::string_view value, bool quoted) {
  const std::string v = quoted ? fmt::format("\"{}\"", value) : std::string(value);
  return is_ddb_key(key) ? fmt::format("{} = {}", key, v) : fmt::format("{}={}", key, v);
}

bool qemu_standalone_create_type(std::string_view type) {
  static constexpr std::array<std::string_view, 6> kAccepted{
      "monolithicFlat", "vmfs", "vmfsSparse", "seSparse", "twoGbMaxExtentSparse",
      "twoGbMaxExtentFlat"};
  return std::find(kAccepted.begin(), kAccepted.end(), type) != kAccepted.end();
}

std::size_t virtualbox_additions(const Descriptor& d) {
  static constexpr std::array<std::string_view, 4> kKeys{
      "ddb.uuid.image", "ddb.uuid.parent", "ddb.uuid.modification", "ddb.uuid.parentmodification"};
  std::size_t n = 0;
  for (std::string_view key : kKeys)
    if (!d.find(key)) n += key.size() + 1 + 38 + 1;  // key="GUID"\n
  return n;
}

}  // namespace lint

namespace {

using lint::iequals;
using lint::RawLine;

constexpr std::string_view kMvmcMessage =
    "The entry {} is not a supported disk database entry for the descriptor";

// How qemu's extent-line scan (sscanf "%10s %ld %10s \"%511[^\n\r\"]\" %ld") treats a line.
enum class QemuExtent : std::uint8_t { used, skipped, invalid };

struct QemuExtentScan {
  QemuExtent outcome = QemuExtent::skipped;
  std::string why;
};

QemuExtentScan qemu_scan_extent(std::string_view s) {
  auto skip_ws = [&] {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r' ||
                          s.front() == '\v' || s.front() == '\f'))
      s.remove_prefix(1);
  };
  auto word = [&](std::size_t max) -> std::string_view {
    skip_ws();
    std::size_t n = 0;
    while (n < s.size() && n < max && s[n] != ' ' && s[n] != '\t' && s[n] != '\r') ++n;
    std::string_view w = s.substr(0, n);
    s.remove_prefix(n);
    return w;
  };
  auto number = [&](std::int64_t& out) {
    skip_ws();
    std::size_t n = 0;
    bool plus = false;
    if (n < s.size() && (s[n] == '-' || s[n] == '+')) plus = s[n++] == '+';
    const std::size_t first_digit = n;
    while (n < s.size() && s[n] >= '0' && s[n] <= '9') ++n;
    if (n == first_digit) return false;
    const char* from = s.data() + (plus ? 1 : 0);
    const auto [p, ec] = std::from_chars(from, s.data() + n, out);
    if (ec != std::errc() || p != s.data() + n) return false;
    s.remove_prefix(n);
    return true;
  };
  QemuExtentScan r;
  int matches = 0;
  std::int64_t sectors = 0, offset = -1;
  const std::string_view access = word(10);
  if (access.empty()) return r;
  ++matches;
  if (number(sectors)) {
    ++matches;
    const std::string_view type = word(10);
    if (!type.empty()) {
      ++matches;
      skip_ws();
      if (!s.empty() && s.front() == '"') {
        s.remove_prefix(1);
        std::size_t n = 0;
        while (n < s.size() && n < 511 && s[n] != '"' && s[n] != '\r' && s[n] != '\n') ++n;
        if (n > 0) {
          ++matches;
          s.remove_prefix(n);
          if (!s.empty() && s.front() == '"') {
            s.remove_prefix(1);
            if (number(offset)) ++matches;
          }
        }
      }
    }
    if (matches < 4 || access != "RW") {
      r.why = access != "RW" ? "qemu uses only extents whose access is written 'RW'"
                             : "qemu uses only extents with a double-quoted file name";
      return r;
    }
    if (type == "FLAT") {
      if (matches != 5 || offset < 0) {
        r.outcome = QemuExtent::invalid;
        r.why = "qemu requires a sector offset after the file name of a FLAT extent";
        return r;
      }
    } else if (matches != 4) {
      r.outcome = QemuExtent::invalid;
      r.why = fmt::format("qemu refuses an offset on a {} extent", type);
      return r;
    }
    if (sectors <= 0 || (type != "FLAT" && type != "SPARSE" && type != "VMFS" &&
                         type != "VMFSSPARSE" && type != "SESPARSE")) {
      r.why = sectors <= 0 ? "qemu ignores extents of 0 sectors"
                           : fmt::format("qemu ignores extents of type '{}'", type);
      return r;
    }
    r.outcome = QemuExtent::used;
    return r;
  }
  r.why = "qemu cannot read the extent size";
  return r;
}

bool virtualbox_first_line(std::string_view body) {
  return body == "# Disk DescriptorFile" || body == "# Disk Descriptor File" ||
         body == "#Disk Descriptor File" || body == "#Disk DescriptorFile";
}

// VirtualBox's strict extent syntax: ACCESS SP SECTORS SP TYPE [SP "FILE" [SP OFFSET]].
bool virtualbox_extent_ok(std::string_view body, const ExtentLine& e) {
  if (e.type != ExtentType::sparse && e.type != ExtentType::flat && e.type != ExtentType::zero &&
      e.type != ExtentType::vmfs)
    return false;
  if (!e.extra.empty()) return false;
  return body == lint::canonical_extent(e);
}

constexpr std::array<std::string_view, 7> kHeaderKeys{
    "version", "encoding", "CID", "parentCID", "isNativeSnapshot", "createType",
    "parentFileNameHint"};

constexpr std::array<std::string_view, 18> kCreateTypes{
    "monolithicSparse", "monolithicFlat", "twoGbMaxExtentSparse", "twoGbMaxExtentFlat",
    "2GbMaxExtentSparse", "2GbMaxExtentFlat", "streamOptimized", "custom", "fullDevice",
    "partitionedDevice", "vmfs", "vmfsPreallocated", "vmfsEagerZeroedThick", "vmfsThin",
    "vmfsSparse", "vmfsRDM", "vmfsRDMP", "seSparse"};

bool known_create_type(std::string_view v) {
  for (std::string_view t : kCreateTypes)
    if (iequals(t, v)) return true;
  return iequals(v, "vmfsRawDeviceMap") || iequals(v, "vmfsPassthroughRawDeviceMap") ||
         iequals(v, "vmfsRaw") || iequals(v, "vmfsSeSparse") || iequals(v, "vmfsThick");
}

class Linter {
 public:
  Linter(const Descriptor& d, std::string_view text, const LintOptions& o)
      : d_(d), text_(lint::text_before_nul(text)), o_(o), raw_(lint::split_lines(text)) {}

  std::vector<LintFinding> run() {
    whole();
    lines();
    std::stable_sort(out_.begin(), out_.end(),
                     [](const LintFinding& a, const LintFinding& b) { return a.line < b.line; });
    return std::move(out_);
  }

 private:
  LintFinding& add(std::string rule, std::size_t line, unsigned consumers, LintSeverity sev,
                   bool fixable, std::string detail, std::string message = {}) {
    LintFinding f;
    f.rule = std::move(rule);
    f.line = line;
    f.consumers = consumers;
    f.severity = sev;
    f.fixable = fixable;
    f.detail = std::move(detail);
    f.message = std::move(message);
    out_.push_back(std::move(f));
    return out_.back();
  }

  std::string_view body(std::size_t number) const {
    return number >= 1 && number <= raw_.size() ? raw_[number - 1].body : std::string_view{};
  }

  std::size_t line_of_offset(std::size_t at) const {
    std::size_t pos = 0;
    for (std::size_t i = 0; i < raw_.size(); ++i) {
      pos += raw_[i].body.size() + raw_[i].end.size();
      if (at < pos) return i + 1;
    }
    return 0;
  }

  void whole() {
    // VirtualBox: the first line must be the "# Disk DescriptorFile" comment.
    if (raw_.empty() || !virtualbox_first_line(raw_[0].body))
      add("vbox-first-line", 0, kVirtualBox, LintSeverity::error, true,
          "VirtualBox requires '# Disk DescriptorFile' as the very first line",
          "VMDK: descriptor does not start as expected in '<file>'");

    // createType present and known.
    const DescriptorLine* ct = d_.find("createType");
    if (!ct) {
      add("createtype-missing", 0, kEsxi | kVirtualBox | (o_.standalone ? kQemu : 0u),
          LintSeverity::error, false, "the descriptor has no createType entry",
          "VMDK: cannot get image type from descriptor in '<file>'");
    } else if (!known_create_type(ct->value)) {
      add("createtype-unknown", ct->number, kEsxi, LintSeverity::error, false,
          fmt::format("createType '{}' is not a VMDK disk type", ct->value))
          .key = ct->key;
    }

    // Descriptor version: VirtualBox reads version=1 only.
    if (const DescriptorLine* v = d_.find("version"); v && v->value != "1") {
      LintFinding& f = add("vbox-version", v->number, kVirtualBox, LintSeverity::warning, false,
                           "VirtualBox accepts only descriptor version 1",
                           "VMDK: unsupported format version in descriptor in '<file>'");
      f.key = v->key;
      f.value = v->value;
    }

    // VMware (and qemu's format probe) identify a text descriptor by its first entry.
    if (o_.standalone) {
      const DescriptorLine* first = nullptr;
      for (const DescriptorLine& l : d_.lines)
        if (l.kind == DescriptorLine::Kind::entry || l.kind == DescriptorLine::Kind::extent) {
          first = &l;
          break;
        }
      const bool ok = first && first->kind == DescriptorLine::Kind::entry &&
                      first->key == "version" && body(first->number) == "version=" + first->value &&
                      !first->value.empty() &&
                      std::all_of(first->value.begin(), first->value.end(),
                                  [](char c) { return c >= '0' && c <= '9'; });
      if (!ok) {
        const DescriptorLine* v = d_.find("version");
        const bool fixable = v && !v->value.empty() &&
                             std::all_of(v->value.begin(), v->value.end(),
                                         [](char c) { return c >= '0' && c <= '9'; });
        add("version-first", v ? v->number : 0, kEsxi | kQemu, LintSeverity::error, fixable,
            "a text descriptor must start (after comments) with 'version=N' written without "
            "spaces; VMware and qemu's format probe do not recognise it otherwise");
      }
    }

    qemu_identity();
    if (o_.standalone) qemu_extents();
    virtualbox_structure();
  }

  void qemu_identity() {
    // CID and parentCID: qemu takes the first "CID" / "parentCID" anywhere in the text.
    for (const bool parent : {false, true}) {
      const std::string_view key = parent ? "parentCID" : "CID";
      const DescriptorLine* e = d_.find(key);
      const lint::QemuLookup q = lint::qemu_cid(text_, parent);
      const std::optional<std::uint32_t> want = e ? parse_cid(e->value) : std::nullopt;
      const std::size_t where = e ? e->number : (q.at || q.found ? line_of_offset(q.at) : 0);
      if (!q.found) {
        LintFinding& f = add(parent ? "qemu-parent-cid" : "qemu-cid", where, kQemu,
                             LintSeverity::error,
                             e ? want.has_value() : parent && !d_.find("parentFileNameHint"),
                             fmt::format("qemu finds no hex number after the first '{}' of the "
                                         "text and refuses to open the disk",
                                         key),
                             "Could not open '<file>': Invalid argument");
        f.key = std::string(key);
        if (e) f.value = e->value;
        continue;
      }
      if (!e) {
        if (!parent)
          add("qemu-cid", where, kQemu, LintSeverity::error, false,
              fmt::format("the descriptor has no CID entry; qemu reads {:08x} from line {} "
                          "instead",
                          q.cid, line_of_offset(q.at)))
              .key = "CID";
        continue;
      }
      if (!want || *want != q.cid) {
        LintFinding& f = add(parent ? "qemu-parent-cid" : "qemu-cid", e->number, kQemu,
                             LintSeverity::warning, want.has_value(),
                             fmt::format("qemu reads {} as {:08x} (from line {}), not '{}'; "
                                         "write '{}=' first and without spaces",
                                         key, q.cid, line_of_offset(q.at), e->value, key));
        f.key = e->key;
        f.value = e->value;
      }
    }
    if (const DescriptorLine* h = d_.find("parentFileNameHint")) {
      const lint::QemuLookup q = lint::qemu_string(text_, "parentFileNameHint");
      if (!q.found || q.text != h->value) {
        LintFinding& f = add(
            "qemu-parent-hint", h->number, kQemu, LintSeverity::error, true,
            q.found ? fmt::format("qemu reads the parent file name as '{}', not '{}'; it needs "
                                  "exactly parentFileNameHint=\"...\"",
                                  q.text, h->value)
                    : "qemu cannot read the parent file name; it needs exactly "
                      "parentFileNameHint=\"...\"");
        f.key = h->key;
        f.value = h->value;
      }
    }
  }

  void qemu_extents() {
    // createType: the first "createType" anywhere, two bytes skipped, up to the next quote.
    const lint::QemuLookup q = lint::qemu_string(text_, "createType");
    const DescriptorLine* ct = d_.find("createType");
    if (!q.found || !lint::qemu_standalone_create_type(q.text)) {
      const bool fixable = ct && lint::qemu_standalone_create_type(ct->value);
      std::string detail =
          ct && !lint::qemu_standalone_create_type(ct->value)
              ? fmt::format("qemu opens no standalone descriptor of type '{}' (only "
                            "monolithicFlat, vmfs, vmfsSparse, seSparse, twoGbMaxExtentSparse, "
                            "twoGbMaxExtentFlat)",
                            ct->value)
              : "qemu needs exactly createType=\"...\" (no spaces, case as written here)";
      LintFinding& f =
          add("qemu-createtype", ct ? ct->number : 0, kQemu, LintSeverity::error, fixable,
              std::move(detail),
              q.found ? fmt::format("Unsupported image type '{}'", q.text)
                      : std::string("invalid VMDK image descriptor"));
      if (ct) {
        f.key = ct->key;
        f.value = ct->value;
      }
    }
    std::size_t used = 0, could = 0;
    for (const DescriptorLine& l : d_.lines) {
      if (l.kind != DescriptorLine::Kind::extent) continue;
      const QemuExtentScan raw = qemu_scan_extent(body(l.number));
      const QemuExtentScan canon = qemu_scan_extent(lint::canonical_extent(l.extent));
      std::optional<ExtentLine> repaired = repaired_extent(l.extent);
      const QemuExtentScan fixed = repaired ? qemu_scan_extent(lint::canonical_extent(*repaired))
                                            : canon;
      if (raw.outcome == QemuExtent::used) ++used;
      if (fixed.outcome == QemuExtent::used) ++could;
      if (raw.outcome == QemuExtent::used) continue;
      const bool fixable = fixed.outcome == QemuExtent::used;
      LintFinding& f = add(
          "qemu-extent", l.number, kQemu,
          raw.outcome == QemuExtent::invalid ? LintSeverity::error : LintSeverity::warning,
          fixable, raw.why,
          raw.outcome == QemuExtent::invalid
              ? fmt::format("Invalid extent line: {}", body(l.number))
              : std::string());
      f.value = std::string(body(l.number));
    }
    if (used == 0)
      add("qemu-no-extents", 0, kQemu, LintSeverity::error, could > 0,
          "qemu finds no usable extent line (qemu 7.2 then fails an assertion)");
  }

  void virtualbox_structure() {
    // Entries in order: header keys, then extents, then ddb (comments and blank lines anywhere).
    enum { header, extents, ddb } section = header;
    bool seen_header = false, seen_extent = false;
    for (const DescriptorLine& l : d_.lines) {
      if (l.kind == DescriptorLine::Kind::blank || l.kind == DescriptorLine::Kind::comment)
        continue;
      const std::string_view b = body(l.number);
      const bool is_ext = b.starts_with("RW") || b.starts_with("RDONLY") ||
                          b.starts_with("NOACCESS");
      const bool is_ddb = b.starts_with("ddb.");
      bool bad = false;
      if (is_ext) {
        bad = !seen_header || section == ddb;
        section = extents;
        seen_extent = true;
      } else if (is_ddb) {
        bad = !seen_header || !seen_extent;
        section = ddb;
      } else {
        bad = section != header;
        seen_header = true;
      }
      if (bad) {
        LintFinding& f = add("vbox-entry-order", l.number, kVirtualBox, LintSeverity::error,
                             false,
                             "VirtualBox requires header entries, then extent lines, then ddb "
                             "entries, each line starting in the first column",
                             "VMDK: incorrect ordering of entries in descriptor in '<file>'");
        f.key = l.key;
        f.value = std::string(b);
        break;  // VirtualBox stops at the first one
      }
    }
    std::size_t n_extents = 0;
    for (const DescriptorLine& l : d_.lines) {
      if (l.kind != DescriptorLine::Kind::extent) continue;
      ++n_extents;
      if (!virtualbox_extent_ok(body(l.number), l.extent)) {
        const ExtentType t = l.extent.type;
        const bool fixable = (t == ExtentType::sparse || t == ExtentType::flat ||
                              t == ExtentType::zero || t == ExtentType::vmfs) &&
                             l.extent.extra.empty() &&
                             (t == ExtentType::zero || l.extent.file.has_value());
        LintFinding& f = add("vbox-extent", l.number, kVirtualBox, LintSeverity::error, fixable,
                             "VirtualBox reads extent lines only in the exact form "
                             "'ACCESS SECTORS TYPE \"FILE\" [OFFSET]' (single spaces, upper "
                             "case, type SPARSE/FLAT/ZERO/VMFS)",
                             "VMDK: parse error in extent description in '<file>'");
        f.value = std::string(body(l.number));
      }
    }
    if (!o_.standalone && n_extents != 1)
      add("vbox-one-extent", 0, kVirtualBox, LintSeverity::error, false,
          fmt::format("an embedded descriptor must name exactly one extent, found {}", n_extents),
          "VMDK: monolithic image may only have one extent in '<file>'");
    if (o_.area_bytes > 0) {
      const std::size_t need = lint::virtualbox_additions(d_);
      const std::uint64_t used = text_.size();
      const std::uint64_t room = o_.area_bytes > used ? o_.area_bytes - used : 0;
      if (need > 0 && room < need)
        add("vbox-room", 0, kVirtualBox, LintSeverity::warning, false,
            fmt::format("VirtualBox adds its ddb.uuid.* keys (about {} bytes) when it opens the "
                        "disk, but only {} of the {} descriptor bytes are free; an overflow "
                        "overwrites the grain directory",
                        need, room, o_.area_bytes));
    }
  }

  // The extent as repair would write it for qemu: FLAT gets offset 0 when it has none; other
  // types lose a zero offset.
  static std::optional<ExtentLine> repaired_extent(const ExtentLine& e) {
    ExtentLine r = e;
    if (r.type == ExtentType::flat && !r.offset) r.offset = 0;
    if (r.type != ExtentType::flat && r.offset && *r.offset == 0 && r.extra.empty())
      r.offset.reset();
    if (r == e) return std::nullopt;
    return r;
  }

  void lines() {
    for (const DescriptorLine& l : d_.lines) {
      if (l.kind != DescriptorLine::Kind::entry) continue;
      if (lint::is_ddb_key(l.key)) {
        const bool kept = std::any_of(o_.mvmc_keep.begin(), o_.mvmc_keep.end(),
                                      [&](const std::string& k) { return iequals(k, l.key); });
        if (!kept) {
          LintFinding& f = add(
              "mvmc-ddb-entry", l.number, kMvmc, LintSeverity::error, true,
              fmt::format("MVMC accepts only known disk database keys and {} is not one; its "
                          "message names the value '{}', not the key",
                          l.key, l.value),
              fmt::format(fmt::runtime(kMvmcMessage), l.value));
          f.key = l.key;
          f.value = l.value;
        }
        continue;
      }
      for (std::string_view k : kHeaderKeys) {
        if (iequals(k, l.key) && k != l.key) {
          LintFinding& f = add("key-case", l.number, kQemu | kVirtualBox, LintSeverity::error,
                               true,
                               fmt::format("qemu and VirtualBox match keys case-sensitively; "
                                           "write '{}', not '{}'",
                                           k, l.key));
          f.key = l.key;
          f.value = l.value;
        }
      }
    }
  }

  const Descriptor& d_;
  std::string_view text_;
  const LintOptions& o_;
  std::vector<RawLine> raw_;
  std::vector<LintFinding> out_;
};

}  // namespace

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

std::vector<std::string> default_mvmc_keep() {
  return {"ddb.adapterType",          "ddb.geometry.cylinders",     "ddb.geometry.heads",
          "ddb.geometry.sectors",     "ddb.geometry.biosCylinders", "ddb.geometry.biosHeads",
          "ddb.geometry.biosSectors", "ddb.virtualHWVersion",       "ddb.toolsVersion"};
}

std::vector<LintFinding> lint_descriptor(const Descriptor& descriptor, std::string_view text,
                                         const LintOptions& options) {
  return Linter(descriptor, text, options).run();
}

Result<std::vector<LintFinding>> lint_descriptor_text(std::string_view text,
                                                      const LintOptions& options) {
  VDISK_ASSIGN_OR_RETURN(Descriptor d, parse_descriptor(text));
  return lint_descriptor(d, text, options);
}

}  // namespace vdisk::vmdk
