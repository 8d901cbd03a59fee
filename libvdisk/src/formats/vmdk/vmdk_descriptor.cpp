// VMDK descriptor text: tolerant parser and line-preserving serializer (see vdisk/vmdk.h).
// Grammar facts: VMware "Virtual Disk Format 5.0" technote, "The Descriptor File".
#include <algorithm>
#include <array>
#include <charconv>

#include <fmt/format.h>

#include "vdisk/vmdk.h"

namespace vdisk::vmdk {
namespace {

constexpr std::array<std::pair<std::string_view, Access>, 3> kAccess{
    {{"RW", Access::rw}, {"RDONLY", Access::rdonly}, {"NOACCESS", Access::noaccess}}};
constexpr std::array<std::pair<std::string_view, ExtentType>, 8> kTypes{{
    {"FLAT", ExtentType::flat},
    {"SPARSE", ExtentType::sparse},
    {"ZERO", ExtentType::zero},
    {"VMFS", ExtentType::vmfs},
    {"VMFSSPARSE", ExtentType::vmfs_sparse},
    {"VMFSRDM", ExtentType::vmfs_rdm},
    {"VMFSRAW", ExtentType::vmfs_raw},
    {"SESPARSE", ExtentType::se_sparse},
}};

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower(b[i])) return false;
  return true;
}

// Splits off the next whitespace-delimited token of `rest`.
std::string_view next_token(std::string_view& rest) {
  rest = trim(rest);
  std::size_t n = 0;
  while (n < rest.size() && !is_space(rest[n])) ++n;
  std::string_view tok = rest.substr(0, n);
  rest.remove_prefix(n);
  return tok;
}

std::optional<std::uint64_t> parse_decimal(std::string_view s) {
  if (s.empty() || s.size() > 20) return std::nullopt;
  std::uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

Status line_error(std::size_t line, std::string_view detail) {
  return corrupt(fmt::format("vmdk: descriptor line {}: {}", line, detail));
}

template <class T, std::size_t N>
std::optional<T> keyword(const std::array<std::pair<std::string_view, T>, N>& table,
                         std::string_view word) {
  for (const auto& [name, value] : table)
    if (iequals(name, word)) return value;
  return std::nullopt;
}

Result<ExtentLine> parse_extent(std::string_view rest, std::size_t line) {
  ExtentLine e;
  const std::string_view access = next_token(rest);
  e.access = *keyword(kAccess, access);  // the caller checked the keyword
  const std::string_view size = next_token(rest);
  const auto sectors = parse_decimal(size);
  if (!sectors)
    return line_error(line, fmt::format("extent size '{}' is not a decimal sector count", size));
  e.sectors = *sectors;
  const std::string_view type = next_token(rest);
  const auto t = keyword(kTypes, type);
  if (!t) return line_error(line, fmt::format("unknown extent type '{}'", type));
  e.type = *t;
  rest = trim(rest);
  if (rest.empty()) return e;
  if (rest.front() == '"') {
    const std::size_t close = rest.find('"', 1);
    if (close == std::string_view::npos)
      return line_error(line, "extent file name has no closing quote");
    e.file = std::string(rest.substr(1, close - 1));
    rest.remove_prefix(close + 1);
    if (!rest.empty() && !is_space(rest.front()))
      return line_error(line, "extent file name is followed by text without a space");
  } else {
    const std::string_view file = next_token(rest);
    if (file.find('"') != std::string_view::npos)
      return line_error(line, fmt::format("malformed extent file name '{}'", file));
    e.file = std::string(file);
  }
  const std::string_view off = next_token(rest);
  if (off.empty()) return e;
  e.offset = parse_decimal(off);
  if (!e.offset) return line_error(line, fmt::format("extent offset '{}' is not a number", off));
  for (std::string_view tok = next_token(rest); !tok.empty(); tok = next_token(rest))
    e.extra.emplace_back(tok);
  return e;
}

Result<DescriptorLine> parse_line(std::string_view raw, std::size_t number) {
  DescriptorLine l;
  l.number = number;
  const std::string_view t = trim(raw);
  if (t.empty()) return l;
  if (t.front() == '#') {
    l.kind = DescriptorLine::Kind::comment;
    l.text = std::string(raw);
    return l;
  }
  std::string_view probe = t;
  if (keyword(kAccess, next_token(probe))) {
    l.kind = DescriptorLine::Kind::extent;
    VDISK_ASSIGN_OR_RETURN(l.extent, parse_extent(t, number));
    return l;
  }
  const std::size_t eq = t.find('=');
  if (eq == std::string_view::npos)
    return line_error(number, "expected 'key=value' or an extent line");
  const std::string_view key = trim(t.substr(0, eq));
  if (key.empty()) return line_error(number, "empty key before '='");
  std::string_view value = trim(t.substr(eq + 1));
  l.kind = DescriptorLine::Kind::entry;
  l.key = std::string(key);
  if (!value.empty() && value.front() == '"') {
    if (value.size() < 2 || value.back() != '"')
      return line_error(number, fmt::format("value of '{}' has no closing quote", key));
    value = value.substr(1, value.size() - 2);
    l.quoted = true;
  }
  l.value = std::string(value);
  return l;
}

bool is_ddb_key(std::string_view key) {
  return key.size() >= 4 && iequals(key.substr(0, 4), "ddb.");
}

}  // namespace

std::string_view access_name(Access access) noexcept {
  for (const auto& [name, value] : kAccess)
    if (value == access) return name;
  return "?";
}

std::string_view extent_type_name(ExtentType type) noexcept {
  for (const auto& [name, value] : kTypes)
    if (value == type) return name;
  return "?";
}

const DescriptorLine* Descriptor::find(std::string_view key) const {
  for (const DescriptorLine& l : lines)
    if (l.kind == DescriptorLine::Kind::entry && iequals(l.key, key)) return &l;
  return nullptr;
}

std::optional<std::string> Descriptor::get(std::string_view key) const {
  if (const DescriptorLine* l = find(key)) return l->value;
  return std::nullopt;
}

std::vector<ExtentLine> Descriptor::extents() const {
  std::vector<ExtentLine> out;
  for (const DescriptorLine& l : lines)
    if (l.kind == DescriptorLine::Kind::extent) out.push_back(l.extent);
  return out;
}

std::vector<const DescriptorLine*> Descriptor::ddb() const {
  std::vector<const DescriptorLine*> out;
  for (const DescriptorLine& l : lines)
    if (l.kind == DescriptorLine::Kind::entry && is_ddb_key(l.key)) out.push_back(&l);
  return out;
}

Result<Descriptor> parse_descriptor(std::string_view text) {
  if (const std::size_t nul = text.find('\0'); nul != std::string_view::npos)
    text = text.substr(0, nul);
  if (text.size() > kMaxDescriptorBytes)
    return resource_exhausted(fmt::format("vmdk: descriptor of {} bytes exceeds the {} byte limit",
                                          text.size(), kMaxDescriptorBytes));
  Descriptor d;
  std::size_t number = 0;
  while (!text.empty()) {
    const std::size_t nl = text.find('\n');
    std::string_view raw = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    while (!raw.empty() && raw.back() == '\r') raw.remove_suffix(1);
    VDISK_ASSIGN_OR_RETURN(DescriptorLine l, parse_line(raw, ++number));
    d.lines.push_back(std::move(l));
  }
  return d;
}

std::string serialize_descriptor(const Descriptor& descriptor) {
  std::string out;
  for (const DescriptorLine& l : descriptor.lines) {
    switch (l.kind) {
      case DescriptorLine::Kind::blank:
        break;
      case DescriptorLine::Kind::comment:
        out += l.text;
        break;
      case DescriptorLine::Kind::entry: {
        const std::string_view sep = is_ddb_key(l.key) ? " = " : "=";
        out += l.key;
        out += sep;
        out += l.quoted ? fmt::format("\"{}\"", l.value) : l.value;
        break;
      }
      case DescriptorLine::Kind::extent: {
        const ExtentLine& e = l.extent;
        out += fmt::format("{} {} {}", access_name(e.access), e.sectors, extent_type_name(e.type));
        if (e.file) out += fmt::format(" \"{}\"", *e.file);
        if (e.offset) out += fmt::format(" {}", *e.offset);
        for (const std::string& x : e.extra) out += " " + x;
        break;
      }
    }
    out += '\n';
  }
  return out;
}

std::optional<std::uint32_t> parse_cid(std::string_view text) {
  if (text.empty() || text.size() > 8) return std::nullopt;
  std::uint32_t v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v, 16);
  if (ec != std::errc() || p != text.data() + text.size()) return std::nullopt;
  return v;
}

}  // namespace vdisk::vmdk
