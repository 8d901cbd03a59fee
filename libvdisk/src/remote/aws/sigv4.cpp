// Signature Version 4, step by step as docs/cloud.md ("AWS", SigV4) lists it.
#include "remote/aws/sigv4.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <ctime>

#include "checksum/checksum_sinks.h"
#include "checksum/sha256.h"
#include "http/url.h"

namespace vdisk::aws {
namespace {

std::span<const std::uint8_t> bytes_of(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string percent_decode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      const int hi = hex_value(s[i + 1]);
      const int lo = hex_value(s[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
        continue;
      }
    }
    out += s[i];
  }
  return out;
}

std::string canonical_query(std::string_view query) {
  std::vector<std::pair<std::string, std::string>> items;
  std::size_t i = 0;
  while (i < query.size()) {
    std::size_t j = query.find('&', i);
    if (j == std::string_view::npos) j = query.size();
    const std::string_view item = query.substr(i, j - i);
    if (!item.empty()) {
      const std::size_t eq = item.find('=');
      const std::string_view k = item.substr(0, eq);
      const std::string_view v = eq == std::string_view::npos ? "" : item.substr(eq + 1);
      items.emplace_back(http::percent_encode(percent_decode(k), false),
                         http::percent_encode(percent_decode(v), false));
    }
    i = j + 1;
  }
  std::sort(items.begin(), items.end());
  std::string out;
  for (const auto& [k, v] : items) {
    if (!out.empty()) out += '&';
    out += k + "=" + v;
  }
  return out;
}

std::string trim_collapse(std::string_view v) {
  std::string out;
  bool space = false;
  for (char c : v) {
    if (c == ' ' || c == '\t') {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

std::array<std::uint8_t, 32> hmac_sha256(std::span<const std::uint8_t> key, std::string_view msg) {
  std::array<std::uint8_t, 64> k{};
  if (key.size() > 64) {
    checksum::Sha256 h;
    h.update(std::as_bytes(key));
    const auto d = h.finish();
    std::copy(d.begin(), d.end(), k.begin());
  } else {
    std::copy(key.begin(), key.end(), k.begin());
  }
  std::array<std::uint8_t, 64> ipad{}, opad{};
  for (std::size_t i = 0; i < 64; ++i) {
    ipad[i] = static_cast<std::uint8_t>(k[i] ^ 0x36);
    opad[i] = static_cast<std::uint8_t>(k[i] ^ 0x5c);
  }
  checksum::Sha256 inner;
  inner.update(std::as_bytes(std::span(ipad)));
  inner.update(std::as_bytes(bytes_of(msg)));
  const auto ih = inner.finish();
  checksum::Sha256 outer;
  outer.update(std::as_bytes(std::span(opad)));
  outer.update(std::as_bytes(std::span(ih)));
  return outer.finish();
}

std::string sha256_hex(std::span<const std::byte> data) {
  checksum::Sha256 h;
  h.update(data);
  return h.hex();
}

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string amz_date(std::int64_t unix_seconds) {
  const std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  return fmt::format("{:04}{:02}{:02}T{:02}{:02}{:02}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

Signature sign(const SigningInput& in, const Credentials& credentials, std::string_view region,
               std::string_view service, std::string_view amz_date_time) {
  std::vector<std::pair<std::string, std::string>> headers;
  headers.emplace_back("host", in.host);
  for (const http::Header& h : in.headers)
    headers.emplace_back(lower(h.name), trim_collapse(h.value));
  std::sort(headers.begin(), headers.end());
  std::string canonical_headers, signed_headers;
  for (const auto& [k, v] : headers) {
    canonical_headers += k + ":" + v + "\n";
    if (!signed_headers.empty()) signed_headers += ';';
    signed_headers += k;
  }
  Signature s;
  s.canonical_request =
      fmt::format("{}\n{}\n{}\n{}\n{}\n{}", in.method, in.path.empty() ? "/" : in.path,
                  canonical_query(in.query), canonical_headers, signed_headers, in.payload_hash);
  const std::string_view date = amz_date_time.substr(0, 8);
  const std::string scope = fmt::format("{}/{}/{}/aws4_request", date, region, service);
  s.string_to_sign = fmt::format(
      "AWS4-HMAC-SHA256\n{}\n{}\n{}", amz_date_time, scope,
      sha256_hex(std::as_bytes(std::span(s.canonical_request.data(), s.canonical_request.size()))));
  const std::string secret = "AWS4" + credentials.secret_access_key;
  auto k = hmac_sha256(bytes_of(secret), date);
  k = hmac_sha256(k, region);
  k = hmac_sha256(k, service);
  k = hmac_sha256(k, "aws4_request");
  const auto sig = hmac_sha256(k, s.string_to_sign);
  s.authorization =
      fmt::format("AWS4-HMAC-SHA256 Credential={}/{}, SignedHeaders={}, Signature={}",
                  credentials.access_key_id, scope, signed_headers, checksum::to_hex(sig));
  return s;
}

void sign_request(http::Request& request, const http::Url& url, const Credentials& credentials,
                  std::string_view region, std::string_view service, std::string_view payload_hash,
                  std::int64_t unix_seconds) {
  const std::string when = amz_date(unix_seconds);
  request.headers.push_back({"x-amz-date", when});
  if (service == "s3")
    request.headers.push_back({"x-amz-content-sha256", std::string(payload_hash)});
  if (!credentials.session_token.empty())
    request.headers.push_back({"x-amz-security-token", credentials.session_token});
  SigningInput in;
  in.method = request.method;
  in.host = url.explicit_port ? fmt::format("{}:{}", url.host, url.port) : url.host;
  if (url.host.find(':') != std::string::npos)
    in.host = url.explicit_port ? fmt::format("[{}]:{}", url.host, url.port) : "[" + url.host + "]";
  in.path = url.path;
  in.query = url.query;
  in.headers = request.headers;
  in.payload_hash = std::string(payload_hash);
  request.headers.push_back(
      {"Authorization", sign(in, credentials, region, service, when).authorization});
}

}  // namespace vdisk::aws
