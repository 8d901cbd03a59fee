// URL parsing and redaction (RFC 3986's generic syntax, restricted to what the uploads use).
#include "http/url.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <optional>

namespace vdisk::http {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool contains_ci(std::string_view hay, std::string_view needle) {
  return lower(hay).find(needle) != std::string::npos;
}

bool secret_parameter(std::string_view name) {
  const std::string n = lower(name);
  return n == "sig" || n == "signature" || n == "x-amz-signature" || n == "x-amz-credential" ||
         n == "x-amz-security-token" || contains_ci(n, "key") || contains_ci(n, "token") ||
         contains_ci(n, "secret") || contains_ci(n, "password");
}

// Calls fn(item, separator) for each item of `text` split at '&' (and, to be safe with text
// that is not a well-formed URL, at '?', ';' and '#'); `separator` is the character that ended
// the item, '\0' for the last.
template <class Fn>
void for_each_item(std::string_view text, Fn&& fn) {
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t end = text.find_first_of("&?;#", start);
    if (end == std::string_view::npos) end = text.size();
    fn(text.substr(start, end - start), end < text.size() ? text[end] : '\0');
    start = end + 1;
  }
}

// The value of a secret item ("sig=..."), or nullopt.
std::optional<std::string_view> secret_value(std::string_view item) {
  const std::size_t eq = item.find('=');
  if (eq == std::string_view::npos || !secret_parameter(item.substr(0, eq))) return std::nullopt;
  return item.substr(eq + 1);
}

// Redacts the secret items of a query; the separators are kept as they are.
std::string redact_query(std::string_view query) {
  std::string out;
  for_each_item(query, [&](std::string_view item, char separator) {
    if (secret_value(item))
      out += fmt::format("{}=REDACTED", item.substr(0, item.find('=')));
    else
      out += item;
    if (separator != '\0') out += separator;
  });
  return out;
}

bool parse_ipv4_loopback(std::string_view h) {
  // 127.x.y.z with decimal octets.
  int parts = 0;
  std::size_t i = 0;
  while (i <= h.size()) {
    std::size_t j = h.find('.', i);
    if (j == std::string_view::npos) j = h.size();
    const std::string_view part = h.substr(i, j - i);
    if (part.empty() || part.size() > 3) return false;
    int v = 0;
    for (char c : part) {
      if (c < '0' || c > '9') return false;
      v = v * 10 + (c - '0');
    }
    if (v > 255 || (parts == 0 && v != 127)) return false;
    ++parts;
    i = j + 1;
  }
  return parts == 4;
}

}  // namespace

std::string Url::origin() const {
  const bool v6 = host.find(':') != std::string::npos;
  std::string out = fmt::format("{}://{}{}{}", scheme, v6 ? "[" : "", host, v6 ? "]" : "");
  if (explicit_port) out += fmt::format(":{}", port);
  return out;
}

std::string Url::without_query() const { return origin() + path; }

std::string Url::full() const {
  return query.empty() ? without_query() : without_query() + "?" + query;
}

Result<Url> parse_url(std::string_view text) {
  const auto bad = [&](std::string_view why) {
    return invalid_argument(fmt::format("url {}: {}", redact_url(text), why));
  };
  for (char c : text)
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f)
      return bad("contains a space or control character");
  const std::size_t colon = text.find("://");
  if (colon == std::string_view::npos) return bad("expected scheme://host/path");
  Url u;
  u.scheme = lower(text.substr(0, colon));
  if (u.scheme != "http" && u.scheme != "https") return bad("scheme is not http or https");
  std::string_view rest = text.substr(colon + 3);
  if (const std::size_t hash = rest.find('#'); hash != std::string_view::npos)
    rest = rest.substr(0, hash);
  std::size_t auth_end = rest.find_first_of("/?");
  if (auth_end == std::string_view::npos) auth_end = rest.size();
  std::string_view authority = rest.substr(0, auth_end);
  std::string_view tail = rest.substr(auth_end);
  if (authority.find('@') != std::string_view::npos)
    return bad("user information in a URL is refused (credentials are given separately)");
  std::string_view host = authority;
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) return bad("unterminated IPv6 literal");
    host = authority.substr(1, close - 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return bad("junk after the IPv6 literal");
      port = after.substr(1);
    }
  } else if (const std::size_t c = authority.rfind(':'); c != std::string_view::npos) {
    host = authority.substr(0, c);
    port = authority.substr(c + 1);
  }
  if (host.empty()) return bad("no host");
  // A registered name is letters, digits, '-', '_' and '.'; an IPv6 literal is hex digits,
  // ':' and '.' (RFC 3986 §3.2.2; zone ids and percent-encoded names are refused).
  const bool v6 = host.data() != authority.data();
  for (char c : host) {
    const auto b = static_cast<unsigned char>(c);
    const bool ok = v6 ? (std::isxdigit(b) != 0 || c == ':' || c == '.')
                       : (b < 0x80 && (std::isalnum(b) != 0 || c == '-' || c == '_' || c == '.'));
    if (!ok)
      return bad(fmt::format("host holds byte 0x{:02x}, expected {}", b,
                             v6 ? "an IPv6 address" : "letters, digits, '-' and '.'"));
  }
  u.host = lower(host);
  u.port = u.scheme == "https" ? 443 : 80;
  if (!port.empty()) {
    unsigned v = 0;
    if (port.size() > 5) return bad("port out of range");
    for (char c : port) {
      if (c < '0' || c > '9') return bad("port is not a number");
      v = v * 10 + static_cast<unsigned>(c - '0');
    }
    if (v == 0 || v > 65535) return bad("port out of range");
    u.port = static_cast<std::uint16_t>(v);
    u.explicit_port = true;
  }
  const std::size_t q = tail.find('?');
  u.path = std::string(tail.substr(0, q));
  if (u.path.empty()) u.path = "/";
  if (q != std::string_view::npos) u.query = std::string(tail.substr(q + 1));
  return u;
}

bool is_loopback_host(std::string_view host) {
  const std::string h = lower(host);
  if (h == "localhost" || h.ends_with(".localhost")) return true;
  if (h == "::1" || h == "0:0:0:0:0:0:0:1") return true;
  return parse_ipv4_loopback(h);
}

Status require_secure_transport(const Url& url) {
  if (url.scheme == "https" || is_loopback_host(url.host)) return {};
  return invalid_argument(fmt::format(
      "url {}: plain http is accepted only for a loopback endpoint (an emulator); use https",
      redact_url(url.full())));
}

std::string redact_url(std::string_view input) {
  std::string text(input);
  // User information (refused by parse_url, but never shown either).
  if (const std::size_t s = text.find("://"); s != std::string::npos) {
    const std::size_t end = text.find_first_of("/?#", s + 3);
    const std::size_t at = text.substr(0, end).rfind('@');
    if (at != std::string::npos && at > s)
      text = text.substr(0, s + 3) + "REDACTED" + text.substr(at);
  }
  // The whole text, not only what follows the first '?': a query pasted without its '?', or a
  // '?' after it, still hides its secrets (found by fuzzing: "h&sig=x/y?2").
  return redact_query(text);
}

namespace {
void add_secret(std::string value, std::vector<std::string>& out) {
  if (value.size() < kMinSecretChars) return;
  if (std::find(out.begin(), out.end(), value) == out.end()) out.push_back(std::move(value));
}

// %XX sequences decoded ('+' is left as it is: a SAS signature's base64 keeps it).
std::string percent_decode(std::string_view text) {
  const auto value = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const int hi = i + 2 < text.size() ? value(text[i + 1]) : -1;
    const int lo = i + 2 < text.size() ? value(text[i + 2]) : -1;
    if (text[i] == '%' && hi >= 0 && lo >= 0) {
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}
}  // namespace

std::vector<std::string> secret_values(std::string_view url) {
  std::vector<std::string> out;
  for_each_item(url, [&](std::string_view item, char) {
    if (const auto value = secret_value(item)) {
      add_secret(std::string(*value), out);
      add_secret(percent_decode(*value), out);
    }
  });
  return out;
}

void add_header_secrets(std::string_view value, std::vector<std::string>& out) {
  add_secret(std::string(value), out);
  std::vector<std::string_view> words;
  for (std::size_t i = 0; i < value.size();) {
    const std::size_t j = std::min(value.find_first_of(" \t,;", i), value.size());
    if (j > i) words.push_back(value.substr(i, j - i));
    i = j + 1;
  }
  // "Scheme credentials" (RFC 9110 §11.4): the scheme ("Bearer", "AWS4-HMAC-SHA256") is not a
  // secret, and hiding it would garble the server's own messages.
  for (std::size_t w = words.size() > 1 ? 1 : 0; w < words.size(); ++w) {
    add_secret(std::string(words[w]), out);
    const std::size_t eq = words[w].find('=');
    if (eq != std::string_view::npos) add_secret(std::string(words[w].substr(eq + 1)), out);
  }
}

std::string scrub(std::string text, const std::vector<std::string>& secrets) {
  for (const std::string& s : secrets) {
    if (s.empty()) continue;
    for (std::size_t p = text.find(s); p != std::string::npos; p = text.find(s, p + 8))
      text.replace(p, s.size(), "REDACTED");
  }
  return text;
}

std::string percent_encode(std::string_view text, bool keep_slash) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    const bool alnum = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (alnum || c == '-' || c == '_' || c == '.' || c == '~' || (keep_slash && c == '/')) {
      out += ch;
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

}  // namespace vdisk::http
