// The HTTP(S) URL source (http_source.h).
#include "remote/https/http_source.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "http/content_range.h"
#include "http/service_client.h"
#include "http/upload_ledger.h"
#include "http/url.h"
#include "remote/reader/block_file.h"

namespace vdisk {
namespace remote {
namespace {

constexpr std::uint64_t kDefaultBlock = 1u << 20;
constexpr std::string_view kAuthHint = "check the request headers that carry credentials";

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// The caller's headers, each checked (check_source_header).
Result<std::vector<http::Header>> check_headers(
    const std::vector<std::pair<std::string, std::string>>& given, std::string_view display) {
  std::vector<http::Header> out;
  for (const auto& [name, value] : given) {
    Status s = check_source_header(name, value);
    if (!s.ok()) return Status(s.code(), fmt::format("http: {}: {}", display, s.message()));
    out.push_back({name, value});
  }
  return out;
}

std::vector<std::string> header_values(const std::vector<http::Header>& headers) {
  std::vector<std::string> out;
  for (const http::Header& h : headers) out.push_back(h.value);
  return out;
}

// `options` whose retries are also counted in `counters`.
HttpOptions counting(HttpOptions options, SourceCounters* counters) {
  options.on_retry = [counters, user = options.on_retry](std::string_view line) {
    counters->retry();
    if (user) user(line);
  };
  return options;
}

class HttpFetcher final : public BlockFetcher {
 public:
  HttpFetcher(std::string url, std::string display, std::vector<http::Header> headers,
              std::uint64_t size, std::uint64_t block, http::Validator validator,
              std::stop_token user_stop)
      : url_(std::move(url)),
        display_(std::move(display)),
        headers_(std::move(headers)),
        secrets_(header_values(headers_)),
        size_(size),
        block_(block),
        validator_(std::move(validator)),
        on_user_stop_(std::in_place, user_stop, [this] { stop_.request_stop(); }) {
    if (auto h = http::precondition(validator_)) headers_.push_back(*h);
  }

  // The clients' stop token: the caller's, or cancel().
  std::stop_token stop_token() const { return stop_.get_token(); }
  void cancel() override { stop_.request_stop(); }

  void set_clients(std::vector<std::unique_ptr<http::ServiceClient>> clients) {
    clients_ = std::move(clients);
  }
  void keep_first_block(std::vector<std::byte> bytes) { first_ = std::move(bytes); }

  std::uint64_t size() const override { return size_; }
  std::uint64_t block_bytes() const override { return block_; }
  std::size_t slots() const override { return clients_.size(); }
  std::string_view kind() const override { return "http"; }
  const std::string& name() const override { return display_; }
  SourceCounters& counters() override { return counters_; }
  void describe(Properties& out) const override { out.add("validator", validator_.describe()); }

  Status fetch(std::size_t slot, std::uint64_t index, std::span<std::byte> dst) override {
    const std::uint64_t first = index * block_;
    if (index == 0) {
      std::lock_guard lock(first_mu_);
      if (first_.size() == dst.size()) {
        std::memcpy(dst.data(), first_.data(), dst.size());
        first_.clear();
        first_.shrink_to_fit();
        return {};
      }
    }
    std::vector<http::Header> headers = headers_;
    headers.push_back({"range", http::range_header(first, dst.size())});
    const std::string what =
        fmt::format("http: GET {} bytes {}-{}", display_, first, first + dst.size() - 1);
    const http::ResponseCheck check = [&](const http::Response& r) {
      return http::check_range_reply(r, first, dst.size(), size_, validator_, what, kAuthHint);
    };
    VDISK_ASSIGN_OR_RETURN(
        http::Response r,
        clients_.at(slot)->send({"GET", url_, headers, {}, what, secrets_}, check));
    std::memcpy(dst.data(), r.body.data(), dst.size());
    counters_.request(dst.size());
    return {};
  }

 private:
  std::string url_;
  std::string display_;
  std::vector<http::Header> headers_;
  std::vector<std::string> secrets_;  // the caller's header values
  std::uint64_t size_;
  std::uint64_t block_;
  http::Validator validator_;
  std::stop_source stop_;
  std::optional<std::stop_callback<std::function<void()>>> on_user_stop_;
  std::vector<std::unique_ptr<http::ServiceClient>> clients_;
  std::mutex first_mu_;
  std::vector<std::byte> first_;
  SourceCounters counters_;
};

// The body of the probe's 200 reply: the whole object, front to back.
class HttpBodyInput final : public InputStream {
 public:
  HttpBodyInput(std::unique_ptr<http::BodyReader> body, std::string display)
      : body_(std::move(body)), display_(std::move(display)) {}
  Result<std::size_t> read(std::span<std::byte> dst) override { return body_->read(dst); }
  const std::string& name() const override { return display_; }

 private:
  std::unique_ptr<http::BodyReader> body_;
  std::string display_;
};

// Reads the probe's body: exactly `length` bytes, else empty (block 0 is then fetched again).
std::vector<std::byte> read_probe_body(http::BodyReader& body, std::uint64_t length) {
  std::vector<std::byte> bytes(length);
  std::size_t got = 0;
  while (got < bytes.size()) {
    Result<std::size_t> n = body.read(std::span(bytes).subspan(got));
    if (!n.ok() || *n == 0) return {};
    got += *n;
  }
  std::byte extra[1];
  Result<std::size_t> n = body.read(extra);
  if (!n.ok() || *n != 0) return {};
  return bytes;
}

}  // namespace

Result<HttpSource> open_http_source_over(const HttpSourceOptions& options,
                                         HttpConnections connections, std::stop_token stop) {
  VDISK_ASSIGN_OR_RETURN(http::Url url, http::parse_service_url(options.url));
  const std::string display = http::redact_url(url.full());
  VDISK_RETURN_IF_ERROR(http::check_connections("http", options.http.connections));
  VDISK_ASSIGN_OR_RETURN(std::uint64_t block,
                         choose_block_bytes(options.cache, kDefaultBlock, "http: " + display));
  VDISK_ASSIGN_OR_RETURN(std::vector<http::Header> headers,
                         check_headers(options.headers, display));

  // The probe: the first block, ranged.
  std::vector<http::Header> probe_headers = headers;
  probe_headers.push_back({"range", http::range_header(0, block)});
  const std::string what = fmt::format("http: GET {} bytes 0-{}", display, block - 1);
  auto counters = std::make_unique<SourceCounters>();
  const HttpOptions http_options = counting(options.http, counters.get());
  VDISK_ASSIGN_OR_RETURN(
      http::Response probe,
      http::send_with_retry(*connections.probe,
                            {"GET", url.full(), probe_headers, {}, what, header_values(headers)},
                            http_options, stop));
  if (probe.status == 200) {
    // No range support: the body of this GET is the whole object.
    std::unique_ptr<http::BodyReader> body = connections.probe->take_body();
    if (!body) return io_error(fmt::format("{}: HTTP 200 without a body to read", what));
    body->set_what(fmt::format("http: GET {} (the whole object: no ranges)", display));
    HttpSource out;
    out.stream = std::make_unique<HttpBodyInput>(std::move(body), display);
    return out;
  }
  std::uint64_t size = 0;
  std::uint64_t first_length = 0;
  if (probe.status == 416) {
    // An empty object has no byte 0: "bytes */0".
    Result<http::ContentRange> cr = http::parse_content_range(probe.header("content-range"));
    if (!cr.ok() || cr->satisfied || cr->total != 0)
      return io_error(
          fmt::format("{}: HTTP 416 (Range Not Satisfiable) for a range from byte 0", what));
  } else {
    if (probe.status >= 300 && probe.status < 400)
      return io_error(
          fmt::format("{}: HTTP {}: redirects are not followed (give the URL it "
                      "points to)",
                      what, probe.status));
    VDISK_RETURN_IF_ERROR(http::reply_status(what, probe, 206, kAuthHint));
    const std::string_view header = probe.header("content-range");
    if (header.empty()) return io_error(fmt::format("{}: HTTP 206 without a Content-Range", what));
    Result<http::ContentRange> cr = http::parse_content_range(header);
    if (!cr.ok()) return io_error(fmt::format("{}: {}", what, cr.status().message()));
    if (!cr->total)
      return unsupported(fmt::format(
          "{}: the server does not state the object's size (Content-Range '{}'): it cannot be "
          "read by ranges",
          what, header));
    size = *cr->total;
    first_length = std::min(block, size);
    if (cr->first != 0 || cr->last != first_length - 1)
      return io_error(fmt::format("{}: Content-Range '{}', expected bytes 0-{}/{}", what, header,
                                  first_length - 1, size));
  }
  auto fetcher = std::make_unique<HttpFetcher>(url.full(), display, headers, size, block,
                                               http::validator_of(probe), stop);
  if (std::unique_ptr<http::BodyReader> body = connections.probe->take_body();
      body && first_length > 0) {
    std::vector<std::byte> bytes = read_probe_body(*body, first_length);
    if (!bytes.empty()) fetcher->counters().request(bytes.size());
    fetcher->keep_first_block(std::move(bytes));
  }
  connections.probe.reset();
  // Retries of the block requests count in the fetcher's own counters.
  const HttpOptions slot_options = counting(options.http, &fetcher->counters());
  std::vector<std::unique_ptr<http::ServiceClient>> clients;
  for (unsigned i = 0; i < options.http.connections; ++i) {
    VDISK_ASSIGN_OR_RETURN(std::unique_ptr<http::Connection> c, connections.make());
    clients.push_back(
        std::make_unique<http::ServiceClient>(slot_options, std::move(c), fetcher->stop_token()));
  }
  fetcher->set_clients(std::move(clients));
  // The probe's retries were counted before the fetcher existed.
  for (std::uint64_t i = 0; i < counters->snapshot().retries; ++i) fetcher->counters().retry();
  HttpSource out;
  out.file = block_file(std::move(fetcher), options.cache);
  return out;
}

}  // namespace remote

Status check_source_header(std::string_view name, std::string_view value) {
  const std::string shown(name.substr(0, 64));
  const auto bad = [&](std::string_view why) {
    return invalid_argument(fmt::format("header '{}': {}", shown, why));
  };
  if (name.empty()) return bad("no name");
  for (char c : name)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || std::strchr("!#$%&'*+-.^_`|~", c)) ||
        c == '\0')
      return bad("the name holds a character a header name cannot");
  if (value.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos)
    return bad("the value holds a line break or a NUL");
  if (value.size() > 8192) return bad("the value is longer than 8 KiB");
  const std::string n = remote::lower(name);
  if (n == "host" || n == "content-length" || n == "range" || n.starts_with("if-"))
    return bad("set by the source itself");
  return {};
}

Result<HttpSource> open_http_source(const HttpSourceOptions& options, std::stop_token stop) {
  remote::HttpConnections c;
  VDISK_ASSIGN_OR_RETURN(c.probe, http::StreamingConnection::create(options.http));
  const HttpOptions http_options = options.http;
  c.make = [http_options] { return http::Connection::create(http_options); };
  return remote::open_http_source_over(options, std::move(c), stop);
}

}  // namespace vdisk
