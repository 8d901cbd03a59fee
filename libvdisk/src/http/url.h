// URLs as the cloud uploads use them: split into parts, checked for a transport the library
// accepts, and shown with their secrets removed.
#ifndef VDISK_HTTP_URL_H_
#define VDISK_HTTP_URL_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "vdisk/status.h"

namespace vdisk::http {

struct Url {
  std::string scheme;      // "http" or "https", lowercase
  std::string host;        // lowercase; an IPv6 literal without its brackets
  std::uint16_t port = 0;  // the explicit port, or the scheme's default
  bool explicit_port = false;
  std::string path;   // from the first '/' (always starts with '/'), still percent-encoded
  std::string query;  // after '?', verbatim (a SAS is kept exactly as given), no '#fragment'

  // scheme://host[:port]
  std::string origin() const;
  // origin + path (no query)
  std::string without_query() const;
  // origin + path + ("?" + query when non-empty)
  std::string full() const;
};

// Parses an absolute http(s) URL. Refuses user information ("user:pass@"), a missing host, a
// port out of range, spaces and control characters, with invalid_argument naming the URL
// redacted.
Result<Url> parse_url(std::string_view text);

// True for the loopback names: localhost, *.localhost, 127.0.0.0/8 and ::1.
bool is_loopback_host(std::string_view host);

// Refuses plain http:// unless the host is loopback (an emulator on this machine); anything
// else must be https://, whose certificates are always checked.
Status require_secure_transport(const Url& url);

// The URL with the values of secret query parameters (sig, signature, X-Amz-Signature,
// X-Amz-Credential, X-Amz-Security-Token, and any name containing "key", "token", "secret" or
// "password", compared without case) replaced by "REDACTED". Safe for any text: a string that
// does not parse is redacted after its first '?'.
std::string redact_url(std::string_view text);

// Percent-encodes everything but RFC 3986's unreserved characters (and '/' when keep_slash).
std::string percent_encode(std::string_view text, bool keep_slash);

}  // namespace vdisk::http

#endif  // VDISK_HTTP_URL_H_
