// AWS Signature Version 4 (docs/cloud.md, "AWS"): the canonical request, the string to sign,
// the derived key and the Authorization header, for S3 and the EBS direct APIs.
#ifndef VDISK_AWS_SIGV4_H_
#define VDISK_AWS_SIGV4_H_

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "http/client.h"
#include "http/url.h"

namespace vdisk::aws {

struct Credentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;  // temporary credentials only
};

// HMAC-SHA256 (RFC 2104).
std::array<std::uint8_t, 32> hmac_sha256(std::span<const std::uint8_t> key, std::string_view msg);

// Lowercase hex SHA-256 of `data`.
std::string sha256_hex(std::span<const std::byte> data);

// The current Unix time in seconds (what a request is signed with).
std::int64_t unix_now();

// "YYYYMMDDTHHMMSSZ" for a Unix time.
std::string amz_date(std::int64_t unix_seconds);

struct SigningInput {
  std::string method;
  std::string host;                   // as sent in Host (with :port when not the default)
  std::string path;                   // already percent-encoded as sent
  std::string query;                  // as sent ("a=1&b=2"), canonicalised here
  std::vector<http::Header> headers;  // every header to sign besides host and x-amz-date
  std::string payload_hash;           // hex SHA-256 of the body, or "UNSIGNED-PAYLOAD"
};

struct Signature {
  std::string canonical_request;
  std::string string_to_sign;
  std::string authorization;  // the Authorization header's value
};

// Signs `in` for `service` in `region` at `amz_date_time` (amz_date()). The canonical URI is
// the path as given (S3 style: no re-encoding or normalisation; the EBS paths hold only
// unreserved characters, where both rules agree).
Signature sign(const SigningInput& in, const Credentials& credentials, std::string_view region,
               std::string_view service, std::string_view amz_date_time);

// Adds Host-independent signing headers to `request` (x-amz-date, x-amz-content-sha256 for S3,
// x-amz-security-token) and the Authorization header.
void sign_request(http::Request& request, const http::Url& url, const Credentials& credentials,
                  std::string_view region, std::string_view service, std::string_view payload_hash,
                  std::int64_t unix_seconds);

}  // namespace vdisk::aws

#endif  // VDISK_AWS_SIGV4_H_
