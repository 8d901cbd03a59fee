// The libcurl easy interface, one handle per Connection (libcurl keeps its connection alive
// between requests on the same handle), and the retry loop.
#include "http/client.h"

#include <curl/curl.h>
#include <fmt/format.h>

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <random>

#include "http/curl_setup.h"
#include "http/url.h"

namespace vdisk::http {
namespace {

constexpr std::size_t kMaxResponseBody = 16u << 20;  // page lists of a fragmented 8 TiB blob fit
constexpr std::size_t kMaxHeaders = 256;

struct Upload {
  std::span<const std::byte> body;
  std::size_t sent = 0;
};

std::size_t read_body(char* dst, std::size_t size, std::size_t n, void* user) {
  auto* up = static_cast<Upload*>(user);
  const std::size_t room = size * n;
  const std::size_t left = up->body.size() - up->sent;
  const std::size_t k = std::min(room, left);
  if (k) std::memcpy(dst, up->body.data() + up->sent, k);
  up->sent += k;
  return k;
}

int seek_body(void* user, curl_off_t offset, int origin) {
  auto* up = static_cast<Upload*>(user);
  if (origin != SEEK_SET || offset < 0 || static_cast<std::uint64_t>(offset) > up->body.size())
    return CURL_SEEKFUNC_FAIL;
  up->sent = static_cast<std::size_t>(offset);
  return CURL_SEEKFUNC_OK;
}

struct Sink {
  Response* response;
  bool overflow = false;
};

// Abandons an attempt when no byte has moved either way for `stall` (libcurl's own low-speed
// check averages over seconds of history, so a stall after a fast body is seen late), or when
// the caller's stop token is triggered.
struct Watch {
  std::chrono::steady_clock::duration stall;
  std::stop_token stop;
  curl_off_t last_down = -1;
  curl_off_t last_up = -1;
  std::chrono::steady_clock::time_point last_move = std::chrono::steady_clock::now();
  bool stalled = false;
  bool stopped = false;
};

int on_transfer(void* user, curl_off_t, curl_off_t down, curl_off_t, curl_off_t up) {
  auto* w = static_cast<Watch*>(user);
  const auto now = std::chrono::steady_clock::now();
  if (w->stop.stop_requested()) {
    w->stopped = true;
    return 1;
  }
  if (down != w->last_down || up != w->last_up) {
    w->last_down = down;
    w->last_up = up;
    w->last_move = now;
  } else if (now - w->last_move >= w->stall) {
    w->stalled = true;
    return 1;
  }
  return 0;
}

std::size_t write_body(char* src, std::size_t size, std::size_t n, void* user) {
  auto* s = static_cast<Sink*>(user);
  const std::size_t k = size * n;
  if (s->response->body.size() + k > kMaxResponseBody) {
    s->overflow = true;
    return 0;  // aborts the transfer
  }
  s->response->body.append(src, k);
  return k;
}

}  // namespace

namespace detail {

std::size_t write_header(char* src, std::size_t size, std::size_t n, void* user) {
  auto* r = static_cast<Response*>(user);
  const std::size_t k = size * n;
  std::string_view line(src, k);
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
  if (line.starts_with("HTTP/")) {
    r->headers.clear();  // a new response (after 100 Continue or a redirect)
    return k;
  }
  const std::size_t colon = line.find(':');
  if (colon == std::string_view::npos || r->headers.size() >= kMaxHeaders) return k;
  Header h;
  h.name = std::string(line.substr(0, colon));
  for (char& c : h.name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::string_view v = line.substr(colon + 1);
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  h.value = std::string(v);
  r->headers.push_back(std::move(h));
  return k;
}

bool retryable_curl(CURLcode c) {
  switch (c) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_SEND_FAIL_REWIND:
      return true;
    default:
      return false;
  }
}

Status init_curl() {
  static std::once_flag once;
  static CURLcode init = CURLE_OK;
  std::call_once(once, [] { init = curl_global_init(CURL_GLOBAL_DEFAULT); });
  if (init != CURLE_OK)
    return io_error(fmt::format("http: libcurl did not initialise: {}", curl_easy_strerror(init)));
  return {};
}

void set_transport(CURL* h, const HttpOptions& options) {
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(h, CURLOPT_PROXY, options.proxy.c_str());  // "" = none, env ignored
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
  if (!options.ca_file.empty()) curl_easy_setopt(h, CURLOPT_CAINFO, options.ca_file.c_str());
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, static_cast<long>(options.connect_timeout_seconds));
  curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
}

}  // namespace detail

namespace {

using detail::retryable_curl;
using detail::write_header;

class CurlConnection final : public Connection {
 public:
  CurlConnection(CURL* h, const HttpOptions& o) : h_(h), options_(o) {}
  ~CurlConnection() override { curl_easy_cleanup(h_); }

  Attempt send(const Request& request, std::stop_token stop) override {
    curl_easy_reset(h_);
    Watch watch{std::chrono::seconds(std::max(1u, options_.stall_seconds)), stop};
    Upload up{request.body, 0};
    Response response;
    Sink sink{&response};
    curl_slist* headers = nullptr;
    for (const Header& h : request.headers)
      headers = curl_slist_append(headers, fmt::format("{}: {}", h.name, h.value).c_str());
    // No "Expect: 100-continue" round trip before each body.
    headers = curl_slist_append(headers, "Expect:");
    char error[CURL_ERROR_SIZE] = {};
    curl_easy_setopt(h_, CURLOPT_ERRORBUFFER, error);
    curl_easy_setopt(h_, CURLOPT_URL, request.url.c_str());
    detail::set_transport(h_, options_);
    curl_easy_setopt(h_, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h_, CURLOPT_XFERINFOFUNCTION, on_transfer);
    curl_easy_setopt(h_, CURLOPT_XFERINFODATA, &watch);
    curl_easy_setopt(h_, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h_, CURLOPT_WRITEFUNCTION, write_body);
    curl_easy_setopt(h_, CURLOPT_WRITEDATA, &sink);
    curl_easy_setopt(h_, CURLOPT_HEADERFUNCTION, write_header);
    curl_easy_setopt(h_, CURLOPT_HEADERDATA, &response);
    if (request.method == "PUT" || request.method == "POST") {
      curl_easy_setopt(h_, CURLOPT_UPLOAD, 1L);
      curl_easy_setopt(h_, CURLOPT_READFUNCTION, read_body);
      curl_easy_setopt(h_, CURLOPT_READDATA, &up);
      curl_easy_setopt(h_, CURLOPT_SEEKFUNCTION, seek_body);
      curl_easy_setopt(h_, CURLOPT_SEEKDATA, &up);
      curl_easy_setopt(h_, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
      if (request.method != "PUT")
        curl_easy_setopt(h_, CURLOPT_CUSTOMREQUEST, request.method.c_str());
    } else if (request.method == "HEAD") {
      curl_easy_setopt(h_, CURLOPT_NOBODY, 1L);
    } else if (request.method != "GET") {
      curl_easy_setopt(h_, CURLOPT_CUSTOMREQUEST, request.method.c_str());
    }
    const CURLcode rc = curl_easy_perform(h_);
    curl_slist_free_all(headers);
    Attempt a;
    if (rc != CURLE_OK) {
      const std::string detail = error[0] ? std::string(error) : curl_easy_strerror(rc);
      if (watch.stopped) {
        a.transport = cancelled(fmt::format("{}: cancelled", request.what));
        return a;
      }
      if (watch.stalled) {
        a.transport = io_error(fmt::format("{}: no byte moved for {} s (stalled)", request.what,
                                           std::max(1u, options_.stall_seconds)));
        a.retryable = true;
        return a;
      }
      if (sink.overflow) {
        a.transport = resource_exhausted(fmt::format(
            "{}: the response body is larger than {} bytes", request.what, kMaxResponseBody));
        return a;
      }
      // libcurl's message may quote the URL: redact it like everything else.
      a.transport = io_error(fmt::format("{}: {}", request.what, redact_url(detail)));
      a.retryable = retryable_curl(rc);
      return a;
    }
    curl_easy_getinfo(h_, CURLINFO_RESPONSE_CODE, &response.status);
    a.response = std::move(response);
    return a;
  }

 private:
  CURL* h_;
  HttpOptions options_;
};

std::string unescape_xml(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '&') {
      out += s[i];
      continue;
    }
    static constexpr std::pair<std::string_view, char> kEntities[] = {
        {"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}};
    bool done = false;
    for (const auto& [name, ch] : kEntities)
      if (s.substr(i).starts_with(name)) {
        out += ch;
        i += name.size() - 1;
        done = true;
        break;
      }
    if (!done) out += '&';
  }
  return out;
}

// One line: control characters become spaces, and the text is cut at 300 characters.
std::string one_line(std::string s) {
  for (char& c : s)
    if (static_cast<unsigned char>(c) < 0x20) c = ' ';
  if (s.size() > 300) s = s.substr(0, 300) + "...";
  return s;
}

unsigned retry_after_ms(const Response& r) {
  const std::string_view v = r.header("retry-after");
  if (v.empty() || v.size() > 6) return 0;
  unsigned s = 0;
  for (char c : v) {
    if (c < '0' || c > '9') return 0;  // an HTTP date: ignored (storage does not send them)
    s = s * 10 + static_cast<unsigned>(c - '0');
  }
  return s * 1000;
}

}  // namespace

std::string_view Response::header(std::string_view name) const {
  for (const Header& h : headers)
    if (h.name == name) return h.value;
  return {};
}

Result<std::unique_ptr<Connection>> Connection::create(const HttpOptions& options) {
  VDISK_RETURN_IF_ERROR(detail::init_curl());
  CURL* h = curl_easy_init();
  if (!h) return resource_exhausted("http: libcurl could not make a handle");
  return std::unique_ptr<Connection>(new CurlConnection(h, options));
}

bool retryable_status(long status) {
  return status == 408 || status == 429 || status == 500 || status == 502 || status == 503 ||
         status == 504;
}

namespace {
std::vector<std::string> secrets_of(const Request& request) {
  std::vector<std::string> out = secret_values(request.url);
  for (const Header& h : request.headers) {
    std::string name = h.name;
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (name == "authorization" || name == "proxy-authorization" || name == "cookie" ||
        name == "x-amz-security-token")
      add_header_secrets(h.value, out);
  }
  for (const std::string& v : request.secret_headers) add_header_secrets(v, out);
  return out;
}

void scrub_response(Response& response, const std::vector<std::string>& secrets) {
  if (secrets.empty()) return;
  for (Header& h : response.headers) h.value = scrub(std::move(h.value), secrets);
  if (response.status < 200 || response.status > 299)
    response.body = scrub(std::move(response.body), secrets);
}
}  // namespace

Result<Response> send_with_retry(Connection& connection, const Request& request,
                                 const HttpOptions& options, std::stop_token stop,
                                 const ResponseCheck& check) {
  const auto start = std::chrono::steady_clock::now();
  thread_local std::minstd_rand rng(std::random_device{}());
  std::uint64_t backoff = std::max(1u, options.initial_backoff_ms);
  const unsigned attempts = std::max(1u, options.max_attempts);
  const std::vector<std::string> secrets = secrets_of(request);
  for (unsigned attempt = 1;; ++attempt) {
    if (stop.stop_requested()) return cancelled(fmt::format("{}: cancelled", request.what));
    Attempt a = connection.send(request, stop);
    if (a.response) scrub_response(*a.response, secrets);
    // A response about to be returned passes the caller's check first; a rejection to retry
    // is a transport failure from here on.
    if (a.response && check && (!retryable_status(a.response->status) || attempt >= attempts)) {
      if (std::optional<Rejection> r = check(*a.response)) {
        if (!r->retry) return r->status;
        a.response.reset();
        a.transport = std::move(r->status);
        a.retryable = true;
      }
    }
    std::string failure;
    unsigned hinted_ms = 0;
    if (a.response) {
      if (!retryable_status(a.response->status) || attempt >= attempts)
        return std::move(*a.response);
      failure = describe_failure(request, *a.response);
      hinted_ms = retry_after_ms(*a.response);
    } else {
      if (!a.retryable) return a.transport;
      if (attempt >= attempts)
        return Status(a.transport.code(), fmt::format("{} (gave up after {} attempts)",
                                                      a.transport.message(), attempt));
      failure = a.transport.message();
    }
    const double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (elapsed >= options.max_retry_seconds) {
      if (a.response) return std::move(*a.response);
      return Status(a.transport.code(), fmt::format("{} (gave up after {:.0f} s of retries)",
                                                    a.transport.message(), elapsed));
    }
    // Full jitter: a uniform wait in [0, backoff], at least what Retry-After asks for.
    std::uint64_t wait = std::uniform_int_distribution<std::uint64_t>(0, backoff)(rng);
    wait =
        std::max<std::uint64_t>(wait, std::min<std::uint64_t>(hinted_ms, options.max_backoff_ms));
    backoff = std::min<std::uint64_t>(backoff * 2, std::max(1u, options.max_backoff_ms));
    if (options.on_retry)
      options.on_retry(
          fmt::format("{}; retry {} of {} in {} ms", failure, attempt, attempts - 1, wait));
    std::mutex m;
    std::condition_variable_any cv;
    std::unique_lock lock(m);
    cv.wait_for(lock, stop, std::chrono::milliseconds(wait), [] { return false; });
  }
}

std::string describe_failure(const Request& request, const Response& response) {
  std::string detail;
  if (auto code = xml_text(response.body, "Code")) {
    detail = *code;
    if (auto msg = xml_text(response.body, "Message")) detail += ": " + *msg;
  } else if (auto type = json_string(response.body, "__type")) {
    detail = *type;
    if (auto msg = json_string(response.body, "message"))
      detail += ": " + *msg;
    else if (auto msg2 = json_string(response.body, "Message"))
      detail += ": " + *msg2;
  } else if (auto m = json_string(response.body, "message")) {
    detail = *m;
  } else if (!response.header("x-ms-error-code").empty()) {
    detail = std::string(response.header("x-ms-error-code"));
  }
  std::string line = fmt::format("{}: HTTP {}", request.what, response.status);
  if (!detail.empty()) line += fmt::format(" ({})", redact_url(detail));
  return one_line(std::move(line));
}

namespace {
// Where the value of the member `"key":` starts in `json` (after blanks), or npos.
std::size_t json_value_at(std::string_view json, std::string_view key) {
  const std::string needle = fmt::format("\"{}\"", key);
  std::size_t p = json.find(needle);
  if (p == std::string_view::npos) return p;
  p = json.find_first_not_of(" \t\r\n", p + needle.size());
  if (p == std::string_view::npos || json[p] != ':') return std::string_view::npos;
  return json.find_first_not_of(" \t\r\n", p + 1);
}
}  // namespace

std::optional<std::string> json_string(std::string_view json, std::string_view key) {
  const std::size_t p = json_value_at(json, key);
  if (p == std::string_view::npos || json[p] != '"') return std::nullopt;
  const std::size_t e = json.find('"', p + 1);
  if (e == std::string_view::npos) return std::nullopt;
  return std::string(json.substr(p + 1, e - p - 1));
}

std::optional<std::uint64_t> json_uint(std::string_view json, std::string_view key) {
  std::size_t p = json_value_at(json, key);
  if (p == std::string_view::npos) return std::nullopt;
  std::uint64_t v = 0;
  std::size_t digits = 0;
  for (; p < json.size() && json[p] >= '0' && json[p] <= '9'; ++p, ++digits) {
    if (digits >= 19) return std::nullopt;
    v = v * 10 + static_cast<std::uint64_t>(json[p] - '0');
  }
  if (digits == 0) return std::nullopt;
  return v;
}

std::optional<bool> json_bool(std::string_view json, std::string_view key) {
  const std::size_t p = json_value_at(json, key);
  if (p == std::string_view::npos) return std::nullopt;
  const std::string_view v = json.substr(p);
  if (v.starts_with("true")) return true;
  if (v.starts_with("false")) return false;
  return std::nullopt;
}

std::optional<std::string> xml_text(std::string_view xml, std::string_view tag, std::size_t from,
                                    std::size_t* end) {
  const std::string open = fmt::format("<{}>", tag);
  const std::string close = fmt::format("</{}>", tag);
  if (from > xml.size()) return std::nullopt;
  const std::size_t a = xml.find(open, from);
  if (a == std::string_view::npos) return std::nullopt;
  const std::size_t b = xml.find(close, a + open.size());
  if (b == std::string_view::npos) return std::nullopt;
  if (end) *end = b + close.size();
  return unescape_xml(xml.substr(a + open.size(), b - a - open.size()));
}

}  // namespace vdisk::http
