// Content-Range and the checks of a ranged reply (content_range.h).
#include "http/content_range.h"

#include <fmt/format.h>

#include <cctype>

#include "http/upload_ledger.h"

namespace vdisk::http {
namespace {

// A decimal number of 1..19 digits at the front of `s` (consumed).
std::optional<std::uint64_t> take_number(std::string_view& s) {
  std::uint64_t v = 0;
  std::size_t n = 0;
  while (n < s.size() && s[n] >= '0' && s[n] <= '9') {
    if (n == 19) return std::nullopt;
    v = v * 10 + static_cast<std::uint64_t>(s[n] - '0');
    ++n;
  }
  if (n == 0) return std::nullopt;
  s.remove_prefix(n);
  return v;
}

std::string shown(std::string_view v) {
  std::string out(v.substr(0, 80));
  for (char& c : out)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  if (v.size() > 80) out += "...";
  return fmt::format("'{}'", out);
}

bool weak(std::string_view etag) { return etag.starts_with("W/"); }

}  // namespace

Result<ContentRange> parse_content_range(std::string_view value) {
  const auto bad = [&](std::string_view why) {
    return corrupt(fmt::format("Content-Range {}: {}", shown(value), why));
  };
  std::string_view s = value;
  bool unit = s.size() >= 6 && s[5] == ' ';
  for (std::size_t i = 0; unit && i < 5; ++i)
    unit = std::tolower(static_cast<unsigned char>(s[i])) == "bytes"[i];
  if (!unit) return bad("expected 'bytes FIRST-LAST/TOTAL'");
  s.remove_prefix(6);
  ContentRange r;
  if (s.starts_with("*/")) {
    s.remove_prefix(2);
    r.satisfied = false;
    r.total = take_number(s);
    if (!r.total || !s.empty()) return bad("expected 'bytes */TOTAL'");
    return r;
  }
  const auto first = take_number(s);
  if (!first || !s.starts_with('-')) return bad("expected FIRST-LAST");
  s.remove_prefix(1);
  const auto last = take_number(s);
  if (!last || !s.starts_with('/')) return bad("expected FIRST-LAST/TOTAL");
  s.remove_prefix(1);
  r.first = *first;
  r.last = *last;
  if (s == "*") {
    s.remove_prefix(1);
  } else {
    r.total = take_number(s);
    if (!r.total) return bad("the total is not a number or '*'");
  }
  if (!s.empty()) return bad("junk after the total");
  if (r.first > r.last) return bad("the first byte is after the last");
  if (r.total && r.last >= *r.total) return bad("the last byte is not inside the total");
  return r;
}

std::string Validator::describe() const {
  if (!etag.empty()) return fmt::format("ETag {}", shown(etag));
  if (!last_modified.empty()) return fmt::format("Last-Modified {}", shown(last_modified));
  return "none";
}

Validator validator_of(const Response& response) {
  Validator v;
  v.etag = std::string(response.header("etag"));
  if (v.etag.empty()) v.last_modified = std::string(response.header("last-modified"));
  return v;
}

std::optional<Header> precondition(const Validator& pinned) {
  if (!pinned.etag.empty()) {
    if (weak(pinned.etag)) return std::nullopt;
    return Header{"if-match", pinned.etag};
  }
  if (!pinned.last_modified.empty()) return Header{"if-unmodified-since", pinned.last_modified};
  return std::nullopt;
}

std::string range_header(std::uint64_t first, std::uint64_t length) {
  return fmt::format("bytes={}-{}", first, first + length - 1);
}

std::optional<Rejection> check_range_reply(const Response& response, std::uint64_t first,
                                           std::uint64_t length, std::uint64_t object_bytes,
                                           const Validator& pinned, std::string_view what,
                                           std::string_view auth_hint) {
  const auto retry = [&](std::string why) {
    return Rejection{io_error(fmt::format("{}: {}", what, why)), true};
  };
  const auto changed = [&](std::string why) {
    return Rejection{io_error(fmt::format("{}: object changed while it was read ({})", what, why)),
                     false};
  };
  if (response.status == 412) return changed("the server refused the pinned version: HTTP 412");
  if (response.status == 200)
    return Rejection{io_error(fmt::format("{}: HTTP 200: the server ignored the range it "
                                          "answered before",
                                          what)),
                     false};
  if (Status s = reply_status(what, response, 206, auth_hint); !s.ok()) return Rejection{s, false};
  const std::string_view header = response.header("content-range");
  if (header.empty()) return retry("HTTP 206 without a Content-Range");
  Result<ContentRange> cr = parse_content_range(header);
  if (!cr.ok()) return retry(cr.status().message());
  if (cr->satisfied && cr->first == first && cr->last == first + length - 1 && cr->total &&
      *cr->total != object_bytes)
    return changed(fmt::format("its size is {} bytes now, was {}", *cr->total, object_bytes));
  if (!cr->satisfied || cr->first != first || cr->last != first + length - 1 ||
      cr->total != object_bytes)
    return retry(fmt::format("Content-Range {}, expected bytes {}-{}/{}", shown(header), first,
                             first + length - 1, object_bytes));
  const Validator v = validator_of(response);
  if (!pinned.etag.empty() || !pinned.last_modified.empty()) {
    if (v.etag != pinned.etag || v.last_modified != pinned.last_modified)
      return changed(fmt::format("{}, was {}", v.describe(), pinned.describe()));
  }
  if (response.body.size() != length)
    return retry(fmt::format("the reply holds {} bytes at offset {}, expected {}",
                             response.body.size(), first, length));
  return std::nullopt;
}

}  // namespace vdisk::http
