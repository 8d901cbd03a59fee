// Ranged reads over HTTP (RFC 9110 §14): the Content-Range header of a 206 or 416 reply, and
// the checks every ranged GET of a remote source applies to its reply (the HTTP(S) and S3
// sources: remote/https/, remote/s3/s3_source.cpp).
//
// Guarantees:
// - parse_content_range() accepts exactly `bytes FIRST-LAST/TOTAL`, `bytes FIRST-LAST/*` and
//   `bytes */TOTAL` (the unit without case; decimal numbers of at most 19 digits, no sign, no
//   blank but the one after the unit), with FIRST <= LAST < TOTAL; anything else is corrupt
//   quoting at most 80 characters of the value.
// - check_range_reply() accepts a reply only when it is a 206 whose Content-Range is exactly
//   the range asked with the object's size as total, whose body holds exactly those bytes and
//   whose validator is the pinned one. A short or long body and a range other than the one
//   asked are rejections to retry (a proxy or a connection cut them); another validator,
//   another total or a 412 is the object changed (not retried); another status is
//   reply_status()'s.
#ifndef VDISK_HTTP_CONTENT_RANGE_H_
#define VDISK_HTTP_CONTENT_RANGE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "http/client.h"
#include "vdisk/status.h"

namespace vdisk::http {

struct ContentRange {
  bool satisfied = true;  // false: `bytes */TOTAL` (a 416's)
  std::uint64_t first = 0;
  std::uint64_t last = 0;              // inclusive
  std::optional<std::uint64_t> total;  // nullopt: `*`, the server does not say
};

Result<ContentRange> parse_content_range(std::string_view value);

// What identifies one version of an object: its ETag, else its Last-Modified (both as the
// server sent them).
struct Validator {
  std::string etag;
  std::string last_modified;
  bool empty() const { return etag.empty() && last_modified.empty(); }
  // "ETag \"abc\"", "Last-Modified ...", or "none", for messages.
  std::string describe() const;
};
Validator validator_of(const Response& response);
// The header that makes the server refuse (412) another version: If-Match with a strong ETag,
// else If-Unmodified-Since with Last-Modified; nullopt when neither can be sent (a weak ETag
// only is compared, never sent).
std::optional<Header> precondition(const Validator& pinned);

// The ranged GET of [first, first + length) of an object of `object_bytes` bytes pinned to
// `pinned`, for messages as `what`: see the guarantees above. `auth_hint` ends a 401/403 line.
std::optional<Rejection> check_range_reply(const Response& response, std::uint64_t first,
                                           std::uint64_t length, std::uint64_t object_bytes,
                                           const Validator& pinned, std::string_view what,
                                           std::string_view auth_hint);

// "bytes=FIRST-LAST" for [first, first + length), length > 0.
std::string range_header(std::uint64_t first, std::uint64_t length);

}  // namespace vdisk::http

#endif  // VDISK_HTTP_CONTENT_RANGE_H_
