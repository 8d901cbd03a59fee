// URLs as the cloud uploads use them: split into parts, checked for a transport the library
// accepts, and shown with their secrets removed.
#ifndef VDISK_HTTP_URL_H_
#define VDISK_HTTP_URL_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

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

// What a server may echo back that a message must still not show: the values of `url`'s secret
// query parameters (redact_url's rule), each as given and percent-decoded. Values shorter than
// kMinSecretChars are left out (no credential is that short, and hiding them would garble the
// numbers of a message).
inline constexpr std::size_t kMinSecretChars = 6;
std::vector<std::string> secret_values(std::string_view url);
// Adds the secrets of a credential header's value: the whole value, and each of its words
// (split at blanks, ',' and ';'; the first, the scheme, left out when there are more) with the
// part after its '=' ("Signature=<hex>", "session=<id>"), each kMinSecretChars or longer.
void add_header_secrets(std::string_view value, std::vector<std::string>& out);

// `text` with every occurrence of each of `secrets` replaced by "REDACTED": for messages that
// quote what a server sent (an error code, a header, a body excerpt).
std::string scrub(std::string text, const std::vector<std::string>& secrets);

// Percent-encodes everything but RFC 3986's unreserved characters (and '/' when keep_slash).
std::string percent_encode(std::string_view text, bool keep_slash);

}  // namespace vdisk::http

#endif  // VDISK_HTTP_URL_H_
