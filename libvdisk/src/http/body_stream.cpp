// The streaming GET (body_stream.h): one easy handle in a multi handle, driven by the reader.
#include "http/body_stream.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <string>

#include "http/curl_setup.h"
#include "http/url.h"

namespace vdisk::http {
namespace {

using Clock = std::chrono::steady_clock;

class CurlBody final : public BodyReader {
 public:
  CurlBody(const HttpOptions& options, std::string what, std::stop_token stop)
      : options_(options), what_(std::move(what)), stop_(stop) {}

  ~CurlBody() override {
    if (multi_ && easy_) curl_multi_remove_handle(multi_, easy_);
    if (easy_) curl_easy_cleanup(easy_);
    if (multi_) curl_multi_cleanup(multi_);
    curl_slist_free_all(headers_);
  }

  // Starts the transfer and waits for the headers: the attempt's response or failure.
  Attempt start(const Request& request) {
    Attempt a;
    multi_ = curl_multi_init();
    easy_ = curl_easy_init();
    if (!multi_ || !easy_) {
      a.transport = resource_exhausted(fmt::format("{}: libcurl could not make a handle", what_));
      return a;
    }
    for (const Header& h : request.headers)
      headers_ = curl_slist_append(headers_, fmt::format("{}: {}", h.name, h.value).c_str());
    curl_easy_setopt(easy_, CURLOPT_ERRORBUFFER, error_);
    curl_easy_setopt(easy_, CURLOPT_URL, request.url.c_str());
    detail::set_transport(easy_, options_);
    curl_easy_setopt(easy_, CURLOPT_HTTPHEADER, headers_);
    curl_easy_setopt(easy_, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(easy_, CURLOPT_WRITEDATA, this);
    curl_easy_setopt(easy_, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(easy_, CURLOPT_HEADERDATA, this);
    curl_multi_add_handle(multi_, easy_);
    last_move_ = Clock::now();
    if (Status s = drive([&] { return headers_done_; }); !s.ok()) {
      a.transport = std::move(s);
      a.retryable = retryable_;
      return a;
    }
    if (!headers_done_) {  // ended before any header: a transport failure
      a.transport = failure();
      a.retryable = retryable_;
      return a;
    }
    Response r = response_;
    r.status = status_;
    a.response = std::move(r);
    return a;
  }

  Result<std::size_t> read(std::span<std::byte> dst) override {
    if (dst.empty()) return std::size_t{0};
    if (pending() == 0 && paused_) {
      paused_ = false;
      last_move_ = Clock::now();
      curl_easy_pause(easy_, CURLPAUSE_CONT);  // may deliver the held chunk at once
    }
    if (pending() == 0) VDISK_RETURN_IF_ERROR(drive([&] { return pending() > 0; }));
    if (pending() == 0) {
      if (result_ != CURLE_OK) return failure();
      return std::size_t{0};
    }
    const std::size_t k = std::min(dst.size(), pending());
    std::memcpy(dst.data(), buf_.data() + pos_, k);
    pos_ += k;
    delivered_ += k;
    if (pos_ == buf_.size()) {
      buf_.clear();
      pos_ = 0;
    }
    return k;
  }

  std::uint64_t position() const override { return delivered_; }
  void set_what(std::string what) override { what_ = std::move(what); }

 private:
  std::size_t pending() const { return buf_.size() - pos_; }

  Status failure() {
    const std::string detail =
        error_[0] ? std::string(error_) : std::string(curl_easy_strerror(result_));
    retryable_ = detail::retryable_curl(result_);
    if (!headers_done_) return io_error(fmt::format("{}: {}", what_, redact_url(detail)));
    return io_error(fmt::format("{}: the transfer broke off at offset {} of the body: {}", what_,
                                received_, redact_url(detail)));
  }

  // Runs the transfer until `ready()` or its end; a stall or a stop is an error.
  template <class Ready>
  Status drive(Ready ready) {
    const auto stall = std::chrono::seconds(std::max(1u, options_.stall_seconds));
    // A stall is counted while the reader waits: not while it was busy elsewhere.
    last_move_ = Clock::now();
    while (!ready() && !done_) {
      if (stop_.stop_requested()) return cancelled(fmt::format("{}: cancelled", what_));
      int running = 0;
      curl_multi_perform(multi_, &running);
      int left = 0;
      while (CURLMsg* m = curl_multi_info_read(multi_, &left))
        if (m->msg == CURLMSG_DONE) {
          done_ = true;
          result_ = m->data.result;
        }
      if (ready() || done_ || paused_) break;
      if (Clock::now() - last_move_ >= stall) {
        retryable_ = true;
        return io_error(fmt::format("{}: no byte moved for {} s at offset {} of the body (stalled)",
                                    what_, std::max(1u, options_.stall_seconds), received_));
      }
      curl_multi_poll(multi_, nullptr, 0, 100, nullptr);
    }
    return {};
  }

  static std::size_t on_header(char* src, std::size_t size, std::size_t n, void* user) {
    auto* self = static_cast<CurlBody*>(user);
    const std::size_t k = size * n;
    self->last_move_ = Clock::now();
    std::string_view line(src, k);
    if (line.starts_with("HTTP/")) {
      const std::size_t sp = line.find(' ');
      long code = 0;
      for (std::size_t i = sp == std::string_view::npos ? line.size() : sp + 1;
           i < line.size() && line[i] >= '0' && line[i] <= '9' && code < 1000; ++i)
        code = code * 10 + (line[i] - '0');
      self->status_ = code;
    } else if ((line == "\r\n" || line == "\n") && self->status_ >= 200) {
      self->headers_done_ = true;
    }
    return detail::write_header(src, size, n, &self->response_);
  }

  static std::size_t on_body(char* src, std::size_t size, std::size_t n, void* user) {
    auto* self = static_cast<CurlBody*>(user);
    const std::size_t k = size * n;
    self->headers_done_ = true;
    if (self->pending() > 0 && self->pending() + k > kBodyBufferBytes) {
      self->paused_ = true;
      return CURL_WRITEFUNC_PAUSE;  // libcurl keeps this chunk until unpaused
    }
    if (self->pos_ > 0 && self->pos_ == self->buf_.size()) {
      self->buf_.clear();
      self->pos_ = 0;
    }
    self->buf_.append(src, k);
    self->received_ += k;
    self->last_move_ = Clock::now();
    return k;
  }

  HttpOptions options_;
  std::string what_;
  std::stop_token stop_;
  CURLM* multi_ = nullptr;
  CURL* easy_ = nullptr;
  curl_slist* headers_ = nullptr;
  char error_[CURL_ERROR_SIZE] = {};
  Response response_;
  long status_ = 0;
  bool headers_done_ = false;
  bool paused_ = false;
  bool done_ = false;
  bool retryable_ = false;
  CURLcode result_ = CURLE_OK;
  std::string buf_;
  std::size_t pos_ = 0;
  std::uint64_t received_ = 0;
  std::uint64_t delivered_ = 0;
  Clock::time_point last_move_;
};

class CurlStreamingConnection final : public StreamingConnection {
 public:
  explicit CurlStreamingConnection(const HttpOptions& options) : options_(options) {}

  Attempt send(const Request& request, std::stop_token stop) override {
    body_.reset();
    if (request.method != "GET") {
      Attempt a;
      a.transport = invalid_argument(fmt::format("{}: a streaming request is a GET", request.what));
      return a;
    }
    auto body = std::make_unique<CurlBody>(options_, request.what, stop);
    Attempt a = body->start(request);
    if (a.response) body_ = std::move(body);
    return a;
  }

  std::unique_ptr<BodyReader> take_body() override { return std::move(body_); }

 private:
  HttpOptions options_;
  std::unique_ptr<CurlBody> body_;
};

}  // namespace

Result<std::unique_ptr<StreamingConnection>> StreamingConnection::create(
    const HttpOptions& options) {
  VDISK_RETURN_IF_ERROR(detail::init_curl());
  return std::unique_ptr<StreamingConnection>(new CurlStreamingConnection(options));
}

}  // namespace vdisk::http
