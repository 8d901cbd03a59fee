// Descriptor lint, qemu's rules (see lint_rules.h): qemu block/vmdk.c finds CID, parentCID,
// parentFileNameHint and createType with byte-literal look-ups on the whole text and scans extent
// lines with sscanf; docs/vmdk.md §2 lists what each mistake does.
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <optional>

#include "formats/vmdk/doctor/lint_rules.h"

namespace vdisk::vmdk::lint {
namespace {

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}
char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }
bool is_hex(char c) { return (c >= '0' && c <= '9') || (lower(c) >= 'a' && lower(c) <= 'f'); }

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

// The extent as repair would write it for qemu: FLAT gets offset 0 when it has none; other
// types lose a zero offset.
std::optional<ExtentLine> repaired_extent(const ExtentLine& e) {
  ExtentLine r = e;
  if (r.type == ExtentType::flat && !r.offset) r.offset = 0;
  if (r.type != ExtentType::flat && r.offset && *r.offset == 0 && r.extra.empty()) r.offset.reset();
  if (r == e) return std::nullopt;
  return r;
}

}  // namespace

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

bool qemu_standalone_create_type(std::string_view type) {
  static constexpr std::array<std::string_view, 6> kAccepted{
      "monolithicFlat",    "vmfs", "vmfsSparse", "seSparse", "twoGbMaxExtentSparse",
      "twoGbMaxExtentFlat"};
  return std::find(kAccepted.begin(), kAccepted.end(), type) != kAccepted.end();
}

void lint_qemu_identity(LintContext& c) {
  // CID and parentCID: qemu takes the first "CID" / "parentCID" anywhere in the text.
  for (const bool parent : {false, true}) {
    const std::string_view key = parent ? "parentCID" : "CID";
    const DescriptorLine* e = c.descriptor.find(key);
    const QemuLookup q = qemu_cid(c.text, parent);
    const std::optional<std::uint32_t> want = e ? parse_cid(e->value) : std::nullopt;
    const std::size_t where = e ? e->number : (q.at || q.found ? c.line_of_offset(q.at) : 0);
    if (!q.found) {
      LintFinding& f =
          c.add(parent ? "qemu-parent-cid" : "qemu-cid", where, kQemu, LintSeverity::error,
                e ? want.has_value() : parent && !c.descriptor.find("parentFileNameHint"),
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
        c.add("qemu-cid", where, kQemu, LintSeverity::error, false,
              fmt::format("the descriptor has no CID entry; qemu reads {:08x} from line {} "
                          "instead",
                          q.cid, c.line_of_offset(q.at)))
            .key = "CID";
      continue;
    }
    if (!want || *want != q.cid) {
      LintFinding& f = c.add(parent ? "qemu-parent-cid" : "qemu-cid", e->number, kQemu,
                             LintSeverity::warning, want.has_value(),
                             fmt::format("qemu reads {} as {:08x} (from line {}), not '{}'; "
                                         "write '{}=' first and without spaces",
                                         key, q.cid, c.line_of_offset(q.at), e->value, key));
      f.key = e->key;
      f.value = e->value;
    }
  }
  if (const DescriptorLine* h = c.descriptor.find("parentFileNameHint")) {
    const QemuLookup q = qemu_string(c.text, "parentFileNameHint");
    if (!q.found || q.text != h->value) {
      LintFinding& f =
          c.add("qemu-parent-hint", h->number, kQemu, LintSeverity::error, true,
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

void lint_qemu_extents(LintContext& c) {
  // createType: the first "createType" anywhere, two bytes skipped, up to the next quote.
  const QemuLookup q = qemu_string(c.text, "createType");
  const DescriptorLine* ct = c.descriptor.find("createType");
  if (!q.found || !qemu_standalone_create_type(q.text)) {
    const bool fixable = ct && qemu_standalone_create_type(ct->value);
    std::string detail =
        ct && !qemu_standalone_create_type(ct->value)
            ? fmt::format(
                  "qemu opens no standalone descriptor of type '{}' (only "
                  "monolithicFlat, vmfs, vmfsSparse, seSparse, twoGbMaxExtentSparse, "
                  "twoGbMaxExtentFlat)",
                  ct->value)
            : "qemu needs exactly createType=\"...\" (no spaces, case as written here)";
    LintFinding& f = c.add("qemu-createtype", ct ? ct->number : 0, kQemu, LintSeverity::error,
                           fixable, std::move(detail),
                           q.found ? fmt::format("Unsupported image type '{}'", q.text)
                                   : std::string("invalid VMDK image descriptor"));
    if (ct) {
      f.key = ct->key;
      f.value = ct->value;
    }
  }
  std::size_t used = 0, could = 0;
  for (const DescriptorLine& l : c.descriptor.lines) {
    if (l.kind != DescriptorLine::Kind::extent) continue;
    const QemuExtentScan raw = qemu_scan_extent(c.body(l.number));
    const QemuExtentScan canon = qemu_scan_extent(canonical_extent(l.extent));
    std::optional<ExtentLine> repaired = repaired_extent(l.extent);
    const QemuExtentScan fixed = repaired ? qemu_scan_extent(canonical_extent(*repaired)) : canon;
    if (raw.outcome == QemuExtent::used) ++used;
    if (fixed.outcome == QemuExtent::used) ++could;
    if (raw.outcome == QemuExtent::used) continue;
    const bool fixable = fixed.outcome == QemuExtent::used;
    LintFinding& f =
        c.add("qemu-extent", l.number, kQemu,
              raw.outcome == QemuExtent::invalid ? LintSeverity::error : LintSeverity::warning,
              fixable, raw.why,
              raw.outcome == QemuExtent::invalid
                  ? fmt::format("Invalid extent line: {}", c.body(l.number))
                  : std::string());
    f.value = std::string(c.body(l.number));
  }
  if (used == 0)
    c.add("qemu-no-extents", 0, kQemu, LintSeverity::error, could > 0,
          "qemu finds no usable extent line (qemu 7.2 then fails an assertion)");
}

}  // namespace vdisk::vmdk::lint
