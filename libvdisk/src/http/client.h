// HTTP/1.1 over libcurl for the cloud uploads: one Connection per thread (a kept-alive
// connection), requests with an in-memory body, and a retry loop with exponential backoff and
// jitter that honours Retry-After.
//
// The library reads no environment: libcurl's proxy variables are ignored unless the caller
// passes a proxy in ClientOptions. Certificates are always verified for https.
#ifndef VDISK_HTTP_CLIENT_H_
#define VDISK_HTTP_CLIENT_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "vdisk/cloud.h"
#include "vdisk/status.h"

namespace vdisk::http {

struct Header {
  std::string name;
  std::string value;
};

struct Request {
  std::string method;  // GET, PUT, POST, DELETE, HEAD
  std::string url;     // full URL, secrets included (never put into a message: see what)
  std::vector<Header> headers;
  std::span<const std::byte> body;
  // What the request is, for messages: "Put Page bytes=0-4194303 on <redacted url>".
  std::string what;
  // Header values that are credentials beyond the ones send_with_retry knows (the caller's own
  // headers of an HTTP source): scrubbed from the response like the URL's secrets.
  std::vector<std::string> secret_headers = {};
};

struct Response {
  long status = 0;
  std::vector<Header> headers;  // names lowercase, in arrival order
  std::string body;             // at most ClientOptions' response limit
  // The first header of that name (lowercase), or empty.
  std::string_view header(std::string_view name) const;
};

// The outcome of one attempt: a response, or a transport failure (no response).
struct Attempt {
  std::optional<Response> response;
  Status transport;        // set when response is empty
  bool retryable = false;  // the transport failure may succeed on a retry
};

class Connection {
 public:
  static Result<std::unique_ptr<Connection>> create(const HttpOptions& options);
  virtual ~Connection() = default;
  // One attempt. Never throws; a response with any status is a response. An attempt that
  // moves no byte for HttpOptions::stall_seconds fails (retryable); a triggered `stop` ends
  // it with cancelled.
  virtual Attempt send(const Request& request, std::stop_token stop = {}) = 0;
};

// Statuses worth another attempt: 408, 429, 500, 502, 503, 504.
bool retryable_status(long status);

// A check of a response beyond its status (a ranged read: the range and the length it holds).
// nullopt accepts the response; a Rejection fails the attempt with its status: retried as a
// transport failure when `retry` is set, else returned at once.
struct Rejection {
  Status status;
  bool retry = false;
};
using ResponseCheck = std::function<std::optional<Rejection>(const Response&)>;

// Sends `request` until it gets a response whose status is not retryable, retrying transport
// failures and retryable statuses with exponential backoff and full jitter, bounded by
// options.max_attempts and options.max_retry_seconds; Retry-After (seconds) is honoured up to
// the bound. Each retry is reported to options.on_retry. Returns the last response (whatever
// its status) or the last transport failure, or cancelled when `stop` is triggered. With a
// `check`, a response is returned only once it passes it (see ResponseCheck).
// Secrets: a server may echo what it was sent. Before a response is checked, described or
// returned, the request's secrets are replaced by "REDACTED" in its headers and, unless its
// status is 2xx (an error, never data), its body: the URL's secret query values
// (secret_values), the Authorization, Proxy-Authorization, Cookie and X-Amz-Security-Token
// header values and request.secret_headers (add_header_secrets). No message made from a
// response can then show them.
Result<Response> send_with_retry(Connection& connection, const Request& request,
                                 const HttpOptions& options, std::stop_token stop = {},
                                 const ResponseCheck& check = {});

// A one-line description of a failed response for messages: "<what>: HTTP 403 (Code: Message)"
// with the service's error code and message taken from an XML or JSON error body when present.
std::string describe_failure(const Request& request, const Response& response);

// The text of the first <tag>...</tag> element in `xml` (no entity decoding beyond &amp; &lt;
// &gt; &quot; &apos;), or nullopt.
std::optional<std::string> xml_text(std::string_view xml, std::string_view tag,
                                    std::size_t from = 0, std::size_t* end = nullptr);

// A JSON member `"key": "text"` (no unescaping; the AWS replies' ids and codes need none) or
// `"key": 123` or `"key": true` found anywhere in `json`, or nullopt (also for a value of
// another type).
std::optional<std::string> json_string(std::string_view json, std::string_view key);
std::optional<std::uint64_t> json_uint(std::string_view json, std::string_view key);
std::optional<bool> json_bool(std::string_view json, std::string_view key);

}  // namespace vdisk::http

#endif  // VDISK_HTTP_CLIENT_H_
