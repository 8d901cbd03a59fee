#include "vdisk/properties.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>

#include "base/utf.h"

namespace vdisk {

Properties::Entry& Properties::find_or_add(std::string_view key, Kind kind) {
  // Lists grow by key; scalars and objects are always appended.
  if (kind == Kind::object_list || kind == Kind::string_list) {
    for (auto& e : entries_)
      if (e.kind == kind && e.key == key) return e;
  }
  Entry e;
  e.key = std::string(key);
  e.kind = kind;
  entries_.push_back(std::move(e));
  return entries_.back();
}

Properties& Properties::add(std::string_view key, std::string_view value) {
  find_or_add(key, Kind::string).text = std::string(value);
  return *this;
}
Properties& Properties::add(std::string_view key, std::uint64_t value) {
  find_or_add(key, Kind::uint).u = value;
  return *this;
}
Properties& Properties::add(std::string_view key, std::int64_t value) {
  find_or_add(key, Kind::sint).i = value;
  return *this;
}
Properties& Properties::add(std::string_view key, bool value) {
  find_or_add(key, Kind::boolean).b = value;
  return *this;
}
Properties& Properties::add_object(std::string_view key) {
  auto& e = find_or_add(key, Kind::object);
  e.objects.emplace_back();
  return e.objects.back();
}
Properties& Properties::add_list_item(std::string_view key) {
  auto& e = find_or_add(key, Kind::object_list);
  e.objects.emplace_back();
  return e.objects.back();
}
Properties& Properties::add_list_string(std::string_view key, std::string_view value) {
  find_or_add(key, Kind::string_list).strings.emplace_back(value);
  return *this;
}

Properties& Properties::add_list(std::string_view key) {
  find_or_add(key, Kind::object_list);
  return *this;
}
Properties& Properties::append(const Properties& other) {
  entries_.insert(entries_.end(), other.entries_.begin(), other.entries_.end());
  return *this;
}

std::string Properties::get(std::string_view key) const {
  for (const auto& e : entries_) {
    if (e.key != key) continue;
    switch (e.kind) {
      case Kind::string:
        return e.text;
      case Kind::uint:
        return std::to_string(e.u);
      case Kind::sint:
        return std::to_string(e.i);
      case Kind::boolean:
        return e.b ? "true" : "false";
      default:
        return "";
    }
  }
  return "";
}

const Properties* Properties::get_object(std::string_view key) const {
  for (const auto& e : entries_)
    if (e.key == key && e.kind == Kind::object) return &e.objects.front();
  return nullptr;
}

std::string Properties::to_text(int indent) const {
  std::string out;
  const std::string pad(static_cast<std::size_t>(indent), ' ');
  for (const auto& e : entries_) {
    switch (e.kind) {
      case Kind::string:
        out += fmt::format("{}{}: {}\n", pad, e.key, e.text);
        break;
      case Kind::uint:
        out += fmt::format("{}{}: {}\n", pad, e.key, e.u);
        break;
      case Kind::sint:
        out += fmt::format("{}{}: {}\n", pad, e.key, e.i);
        break;
      case Kind::boolean:
        out += fmt::format("{}{}: {}\n", pad, e.key, e.b ? "yes" : "no");
        break;
      case Kind::object:
        out += fmt::format("{}{}:\n", pad, e.key);
        out += e.objects.front().to_text(indent + 2);
        break;
      case Kind::object_list:
        out += fmt::format("{}{}:\n", pad, e.key);
        for (const auto& item : e.objects) {
          std::string body = item.to_text(indent + 4);
          // Put the first line after "- " so each item reads as one block.
          if (body.size() >= static_cast<std::size_t>(indent + 4))
            body.replace(0, static_cast<std::size_t>(indent + 4), pad + "  - ");
          out += body;
        }
        break;
      case Kind::string_list:
        out += fmt::format("{}{}:\n", pad, e.key);
        for (const auto& s : e.strings) out += fmt::format("{}  - {}\n", pad, s);
        break;
    }
  }
  return out;
}

namespace {
void json_string(std::string& out, std::string_view s) {
  out += '"';
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x7F && c != '"' && c != '\\') {  // the common case
      out += static_cast<char>(c);
      ++i;
      continue;
    }
    const std::size_t at = i;
    const std::uint32_t cp = detail::decode_utf8(s, i);
    switch (cp) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (cp < 0x20 || (cp >= 0x7F && cp < 0xA0))
          out += fmt::format("\\u{:04x}", cp);
        else if (cp == detail::kReplacementChar)
          detail::append_utf8(out, cp);  // also for a U+FFFD that was in the input
        else
          out.append(s.substr(at, i - at));
    }
  }
  out += '"';
}
void newline(std::string& out, int indent, int depth) {
  if (indent == 0) return;
  out += '\n';
  out.append(static_cast<std::size_t>(indent * depth), ' ');
}
}  // namespace

void Properties::render_json(std::string& out, int indent, int depth) const {
  out += '{';
  bool first = true;
  for (const auto& e : entries_) {
    if (!first) out += ',';
    first = false;
    newline(out, indent, depth + 1);
    json_string(out, e.key);
    out += indent ? ": " : ":";
    switch (e.kind) {
      case Kind::string:
        json_string(out, e.text);
        break;
      case Kind::uint:
        out += std::to_string(e.u);
        break;
      case Kind::sint:
        out += std::to_string(e.i);
        break;
      case Kind::boolean:
        out += e.b ? "true" : "false";
        break;
      case Kind::object:
        e.objects.front().render_json(out, indent, depth + 1);
        break;
      case Kind::object_list:
      case Kind::string_list: {
        out += '[';
        const std::size_t n = e.kind == Kind::object_list ? e.objects.size() : e.strings.size();
        for (std::size_t i = 0; i < n; ++i) {
          if (i) out += ',';
          newline(out, indent, depth + 2);
          if (e.kind == Kind::object_list)
            e.objects[i].render_json(out, indent, depth + 2);
          else
            json_string(out, e.strings[i]);
        }
        if (n) newline(out, indent, depth + 1);
        out += ']';
        break;
      }
    }
  }
  if (!first) newline(out, indent, depth);
  out += '}';
}

std::string Properties::to_json(int indent) const {
  std::string out;
  render_json(out, indent, 0);
  return out;
}

std::string to_valid_utf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t at = i;
    const std::uint32_t cp = detail::decode_utf8(text, i);
    if (cp == detail::kReplacementChar)
      detail::append_utf8(out, cp);
    else
      out.append(text.substr(at, i - at));
  }
  return out;
}

std::string json_quote(std::string_view text) {
  std::string out;
  json_string(out, text);
  return out;
}

std::string format_time_utc(std::int64_t unix_seconds) {
  using namespace std::chrono;
  // 0000-01-01T00:00:00Z and 9999-12-31T23:59:59Z.
  constexpr std::int64_t kMin = -62167219200, kMax = 253402300799;
  const sys_seconds t{seconds{std::clamp(unix_seconds, kMin, kMax)}};
  const auto day = floor<days>(t);
  const year_month_day ymd{day};
  const hh_mm_ss hms{t - day};
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", int{ymd.year()}, unsigned{ymd.month()},
                     unsigned{ymd.day()}, hms.hours().count(), hms.minutes().count(),
                     hms.seconds().count());
}

std::string json_document(const Properties& body, int indent) {
  Properties doc;
  doc.add("schema_version", kJsonSchemaVersion);
  doc.append(body);
  return doc.to_json(indent) + "\n";
}

}  // namespace vdisk
