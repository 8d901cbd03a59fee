// The OVF XML reader (see ovf_xml.h). Recursive descent over the document text; recursion depth
// is bounded by kXmlMaxDepth.
#include "formats/ova/ovf_xml.h"

#include <algorithm>
#include <utility>

#include <fmt/format.h>

#include "base/utf.h"

namespace vdisk::ova {
namespace {

constexpr std::string_view kXmlNamespace = "http://www.w3.org/XML/1998/namespace";

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
bool is_name_char(char c) {
  return !is_space(c) && c != '<' && c != '>' && c != '/' && c != '=' && c != '"' && c != '\'' &&
         c != '&' && c != '\0';
}

// A start tag as written: qualified names, raw values decoded.
struct RawAttribute {
  std::string qname;
  std::string value;
};

class Parser {
 public:
  Parser(std::string_view text, std::string_view what) : t_(text), what_(what) {}

  Status error(std::string_view message) const { return error_at(pos_, message); }
  Status error_at(std::size_t at, std::string_view message) const {
    return corrupt_at("ovf", fmt::format("{}: XML", what_), at, message);
  }

  Status prolog() {
    if (t_.substr(0, 3) == "\xEF\xBB\xBF") pos_ = 3;
    return misc(true);
  }

  // Whitespace, comments and PIs (and, before the root, a refused DOCTYPE).
  Status misc(bool before_root) {
    for (;;) {
      skip_space();
      if (starts("<?")) {
        VDISK_RETURN_IF_ERROR(skip_until("?>", "processing instruction"));
      } else if (starts("<!--")) {
        VDISK_RETURN_IF_ERROR(skip_comment());
      } else if (starts("<!DOCTYPE") || starts("<!doctype")) {
        return error("a DOCTYPE is not allowed in an OVF descriptor (entity declarations)");
      } else if (before_root || pos_ >= t_.size()) {
        return {};
      } else {
        return error("expected the end of the document after the root element");
      }
    }
  }

  Result<XmlElement> element(std::size_t depth) {
    if (depth >= kXmlMaxDepth)
      return error(fmt::format("elements nest deeper than {}", kXmlMaxDepth));
    if (++elements_ > kXmlMaxElements)
      return error(fmt::format("more than {} elements", kXmlMaxElements));
    XmlElement e;
    std::string qname;
    bool empty = false;
    VDISK_RETURN_IF_ERROR(start_tag(e, qname, empty));
    if (!empty) {
      VDISK_RETURN_IF_ERROR(content(e, depth));
      VDISK_RETURN_IF_ERROR(end_tag(qname));
    }
    scopes_.resize(scope_marks_.back());
    scope_marks_.pop_back();
    return e;
  }

  // The root's start tag only (probing).
  Result<XmlName> root_name() {
    XmlElement e;
    std::string qname;
    bool empty = false;
    VDISK_RETURN_IF_ERROR(start_tag(e, qname, empty));
    return e.name;
  }

  std::size_t pos() const { return pos_; }

 private:
  bool starts(std::string_view s) const { return t_.substr(pos_, s.size()) == s; }
  void skip_space() {
    while (pos_ < t_.size() && is_space(t_[pos_])) ++pos_;
  }
  Status skip_until(std::string_view end, std::string_view what) {
    const std::size_t at = t_.find(end, pos_);
    if (at == std::string_view::npos) return error(fmt::format("unterminated {}", what));
    pos_ = at + end.size();
    return {};
  }
  Status skip_comment() {
    const std::size_t start = pos_;
    pos_ += 4;
    const std::size_t at = t_.find("--", pos_);
    if (at == std::string_view::npos) return error_at(start, "unterminated comment");
    if (t_.substr(at, 3) != "-->") return error_at(at, "'--' inside a comment");
    pos_ = at + 3;
    return {};
  }

  Result<std::string> name() {
    const std::size_t start = pos_;
    while (pos_ < t_.size() && is_name_char(t_[pos_])) ++pos_;
    if (pos_ == start) return error("expected a name");
    return std::string(t_.substr(start, pos_ - start));
  }

  // Replaces entity and character references in `raw` (attribute values).
  Result<std::string> decode(std::string_view raw, std::size_t at) const {
    std::string out;
    out.reserve(raw.size());
    for (std::size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] == '<') return error_at(at + i, "'<' inside an attribute value");
      if (raw[i] != '&') {
        out += raw[i];
        continue;
      }
      const std::size_t semi = raw.find(';', i);
      if (semi == std::string_view::npos || semi - i > 12)
        return error_at(at + i, "'&' that does not start a reference");
      VDISK_RETURN_IF_ERROR(reference(raw.substr(i + 1, semi - i - 1), at + i, out));
      i = semi;
    }
    return out;
  }

  Status reference(std::string_view ref, std::size_t at, std::string& out) const {
    static constexpr std::pair<std::string_view, char> kEntities[] = {
        {"lt", '<'}, {"gt", '>'}, {"amp", '&'}, {"quot", '"'}, {"apos", '\''}};
    for (const auto& [n, c] : kEntities)
      if (ref == n) {
        out += c;
        return {};
      }
    if (ref.size() < 2 || ref[0] != '#')
      return error_at(at, fmt::format("unknown entity '&{};' (only the five predefined ones "
                                      "are allowed)",
                                      ref));
    const bool hex = ref[1] == 'x';
    std::string_view digits = ref.substr(hex ? 2 : 1);
    if (digits.empty()) return error_at(at, "empty character reference");
    std::uint32_t cp = 0;
    for (char c : digits) {
      int v = -1;
      if (c >= '0' && c <= '9') v = c - '0';
      if (hex && c >= 'a' && c <= 'f') v = c - 'a' + 10;
      if (hex && c >= 'A' && c <= 'F') v = c - 'A' + 10;
      if (v < 0) return error_at(at, fmt::format("bad character reference '&{};'", ref));
      cp = cp * (hex ? 16 : 10) + static_cast<std::uint32_t>(v);
      if (cp > 0x10FFFF) break;
    }
    if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
      return error_at(at, fmt::format("character reference '&{};' is not a character", ref));
    detail::append_utf8(out, cp);
    return {};
  }

  // Binds namespace declarations, then resolves the element's and attributes' names.
  Status start_tag(XmlElement& e, std::string& qname, bool& empty) {
    e.offset = pos_;
    if (!starts("<")) return error("expected '<'");
    ++pos_;
    VDISK_ASSIGN_OR_RETURN(qname, name());
    std::vector<RawAttribute> raw;
    for (;;) {
      const std::size_t before = pos_;
      skip_space();
      if (pos_ >= t_.size()) return error_at(e.offset, "unterminated start tag");
      if (starts("/>")) {
        pos_ += 2;
        empty = true;
        break;
      }
      if (starts(">")) {
        ++pos_;
        break;
      }
      if (pos_ == before) return error("expected whitespace before an attribute");
      if (raw.size() >= kXmlMaxAttributes)
        return error(fmt::format("more than {} attributes on one element", kXmlMaxAttributes));
      RawAttribute a;
      VDISK_ASSIGN_OR_RETURN(a.qname, name());
      skip_space();
      if (!starts("=")) return error("expected '=' after an attribute name");
      ++pos_;
      skip_space();
      if (pos_ >= t_.size() || (t_[pos_] != '"' && t_[pos_] != '\''))
        return error("expected a quoted attribute value");
      const char q = t_[pos_++];
      const std::size_t end = t_.find(q, pos_);
      if (end == std::string_view::npos) return error("unterminated attribute value");
      VDISK_ASSIGN_OR_RETURN(a.value, decode(t_.substr(pos_, end - pos_), pos_));
      pos_ = end + 1;
      for (const RawAttribute& o : raw)
        if (o.qname == a.qname) return error(fmt::format("attribute '{}' given twice", a.qname));
      raw.push_back(std::move(a));
    }
    scope_marks_.push_back(scopes_.size());
    for (const RawAttribute& a : raw) {
      if (a.qname == "xmlns") scopes_.emplace_back("", a.value);
      if (a.qname.starts_with("xmlns:")) {
        if (a.value.empty()) return error_at(e.offset, "a namespace prefix bound to ''");
        scopes_.emplace_back(a.qname.substr(6), a.value);
      }
    }
    VDISK_ASSIGN_OR_RETURN(e.name, resolve(qname, true, e.offset));
    for (RawAttribute& a : raw) {
      if (a.qname == "xmlns" || a.qname.starts_with("xmlns:")) continue;
      XmlAttribute x;
      VDISK_ASSIGN_OR_RETURN(x.name, resolve(a.qname, false, e.offset));
      for (const XmlAttribute& o : e.attributes)
        if (o.name.ns == x.name.ns && o.name.local == x.name.local)
          return error_at(e.offset, fmt::format("attribute '{}' given twice", a.qname));
      x.value = std::move(a.value);
      e.attributes.push_back(std::move(x));
    }
    return {};
  }

  Result<XmlName> resolve(std::string_view qname, bool element, std::size_t at) const {
    const std::size_t colon = qname.find(':');
    const std::string_view prefix = colon == std::string_view::npos ? "" : qname.substr(0, colon);
    XmlName n;
    n.local = std::string(colon == std::string_view::npos ? qname : qname.substr(colon + 1));
    if (n.local.empty() || n.local.find(':') != std::string::npos)
      return error_at(at, fmt::format("malformed name '{}'", qname));
    if (prefix.empty() && !element) return n;  // unprefixed attributes have no namespace
    if (prefix == "xml") {
      n.ns = std::string(kXmlNamespace);
      return n;
    }
    for (auto it = scopes_.rbegin(); it != scopes_.rend(); ++it)
      if (it->first == prefix) {
        n.ns = it->second;
        return n;
      }
    if (prefix.empty()) return n;
    return error_at(at,
                    fmt::format("namespace prefix '{}' of '{}' is not declared", prefix, qname));
  }

  Status content(XmlElement& e, std::size_t depth) {
    for (;;) {
      const std::size_t lt = t_.find('<', pos_);
      if (lt == std::string_view::npos) return error_at(e.offset, "element is never closed");
      VDISK_RETURN_IF_ERROR(check_text(t_.substr(pos_, lt - pos_), pos_));
      pos_ = lt;
      if (starts("</")) return {};
      if (starts("<!--")) {
        VDISK_RETURN_IF_ERROR(skip_comment());
      } else if (starts("<![CDATA[")) {
        VDISK_RETURN_IF_ERROR(skip_until("]]>", "CDATA section"));
      } else if (starts("<?")) {
        VDISK_RETURN_IF_ERROR(skip_until("?>", "processing instruction"));
      } else if (starts("<!")) {
        return error("markup declaration inside an element");
      } else {
        VDISK_ASSIGN_OR_RETURN(XmlElement child, element(depth + 1));
        e.children.push_back(std::move(child));
      }
    }
  }

  // Character data: references must be well formed (their value is not kept).
  Status check_text(std::string_view text, std::size_t at) const {
    for (std::size_t i = text.find('&'); i != std::string_view::npos; i = text.find('&', i + 1)) {
      const std::size_t semi = text.find(';', i);
      if (semi == std::string_view::npos || semi - i > 12)
        return error_at(at + i, "'&' that does not start a reference");
      std::string scratch;
      VDISK_RETURN_IF_ERROR(reference(text.substr(i + 1, semi - i - 1), at + i, scratch));
    }
    return {};
  }

  Status end_tag(std::string_view qname) {
    const std::size_t at = pos_;
    pos_ += 2;
    VDISK_ASSIGN_OR_RETURN(const std::string n, name());
    skip_space();
    if (!starts(">")) return error("expected '>' to end a closing tag");
    ++pos_;
    if (n != qname)
      return error_at(at, fmt::format("closing tag '{}' does not match '{}'", n, qname));
    return {};
  }

  std::string_view t_;
  std::string_view what_;
  std::size_t pos_ = 0;
  std::size_t elements_ = 0;
  std::vector<std::pair<std::string, std::string>> scopes_;  // (prefix, uri), innermost last
  std::vector<std::size_t> scope_marks_;
};

}  // namespace

const std::string* XmlElement::attribute(std::string_view local,
                                         std::span<const std::string_view> namespaces,
                                         bool unqualified) const {
  for (const XmlAttribute& a : attributes) {
    if (a.name.local != local) continue;
    if (unqualified && a.name.ns.empty()) return &a.value;
    if (std::find(namespaces.begin(), namespaces.end(), a.name.ns) != namespaces.end())
      return &a.value;
  }
  return nullptr;
}

Result<XmlElement> parse_xml(std::string_view text, std::string_view what) {
  Parser p(text, what);
  VDISK_RETURN_IF_ERROR(p.prolog());
  if (p.pos() >= text.size()) return p.error("no root element");
  VDISK_ASSIGN_OR_RETURN(XmlElement root, p.element(0));
  VDISK_RETURN_IF_ERROR(p.misc(false));
  return root;
}

std::optional<XmlName> xml_root_name(std::string_view prefix) {
  Parser p(prefix, "probe");
  if (!p.prolog().ok() || p.pos() >= prefix.size()) return std::nullopt;
  auto n = p.root_name();
  if (!n.ok()) return std::nullopt;
  return std::move(*n);
}

}  // namespace vdisk::ova
