// The HTTP(S) and S3 sources without a network (remote/https/http_source.h,
// remote/s3/s3_source.h, http/content_range.h): Content-Range edge cases, the checks of a
// ranged reply, and the sources over scripted connections that serve an object from memory: a
// 200 to the probe gives a stream, a changed validator fails the read, short bodies are retried
// and then fail naming the URL and the offset, the caller's headers go with every request and
// never into a message, and the block cache under concurrent readers.
#include <fmt/format.h>
#include <catch2/catch.hpp>

#include <atomic>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "http/body_stream.h"
#include "http/content_range.h"
#include "remote/aws/aws_client.h"
#include "remote/https/http_source.h"
#include "remote/s3/s3_source.h"

using namespace vdisk;
using namespace vdisk::http;

namespace {

std::string header_of(const Request& r, std::string_view name) {
  for (const auto& h : r.headers)
    if (h.name == name) return h.value;
  return {};
}

std::vector<std::byte> pattern(std::size_t n, unsigned seed) {
  std::vector<std::byte> v(n);
  std::minstd_rand rng(seed);
  for (auto& b : v) b = static_cast<std::byte>(rng() & 0xff);
  return v;
}

// An object in memory and the faults of the server in front of it. Thread-safe.
struct Server {
  std::vector<std::byte> bytes;
  std::string etag = "\"v1\"";
  bool ranges = true;
  bool star_total = false;
  // The next `short_bodies` ranged replies for a block other than the first lose their last
  // byte; `always_short` cuts every one.
  std::atomic<int> short_bodies{0};
  bool always_short = false;
  std::mutex mu;
  std::vector<Request> seen;

  Response answer(const Request& r) {
    {
      std::lock_guard lock(mu);
      seen.push_back(r);
    }
    Response resp;
    resp.headers.push_back({"etag", etag});
    const std::string range = header_of(r, "range");
    if (!ranges || range.empty()) {
      resp.status = 200;
      resp.body.assign(reinterpret_cast<const char*>(bytes.data()), bytes.size());
      return resp;
    }
    const std::string if_match = header_of(r, "if-match");
    if (!if_match.empty() && if_match != etag) {
      resp.status = 412;
      return resp;
    }
    // "bytes=A-B"
    std::uint64_t a = 0, b = 0;
    const char* p = range.data() + 6;
    auto r1 = std::from_chars(p, range.data() + range.size(), a);
    std::from_chars(r1.ptr + 1, range.data() + range.size(), b);
    if (bytes.empty() || a >= bytes.size()) {
      resp.status = 416;
      resp.headers.push_back({"content-range", fmt::format("bytes */{}", bytes.size())});
      return resp;
    }
    b = std::min<std::uint64_t>(b, bytes.size() - 1);
    resp.status = 206;
    resp.headers.push_back(
        {"content-range", star_total ? fmt::format("bytes {}-{}/*", a, b)
                                     : fmt::format("bytes {}-{}/{}", a, b, bytes.size())});
    resp.body.assign(reinterpret_cast<const char*>(bytes.data() + a), b - a + 1);
    if (a > 0 && (always_short || short_bodies.fetch_sub(1) > 0)) resp.body.pop_back();
    return resp;
  }
};

class ServerConnection final : public Connection {
 public:
  explicit ServerConnection(Server& s) : s_(s) {}
  Attempt send(const Request& r, std::stop_token) override {
    Attempt a;
    a.response = s_.answer(r);
    return a;
  }

 private:
  Server& s_;
};

class MemoryBody final : public BodyReader {
 public:
  explicit MemoryBody(std::string body) : body_(std::move(body)) {}
  Result<std::size_t> read(std::span<std::byte> dst) override {
    const std::size_t k = std::min(dst.size(), body_.size() - pos_);
    std::memcpy(dst.data(), body_.data() + pos_, k);
    pos_ += k;
    return k;
  }
  std::uint64_t position() const override { return pos_; }

 private:
  std::string body_;
  std::size_t pos_ = 0;
};

// The probe's connection: the server's reply, its body left to take_body().
class ServerStreaming final : public StreamingConnection {
 public:
  explicit ServerStreaming(Server& s) : s_(s) {}
  Attempt send(const Request& r, std::stop_token) override {
    Attempt a;
    Response resp = s_.answer(r);
    body_ = std::make_unique<MemoryBody>(std::move(resp.body));
    resp.body.clear();
    a.response = std::move(resp);
    return a;
  }
  std::unique_ptr<BodyReader> take_body() override { return std::move(body_); }

 private:
  Server& s_;
  std::unique_ptr<BodyReader> body_;
};

HttpSourceOptions options_for(std::uint64_t block = 4096) {
  HttpSourceOptions o;
  o.url = "https://disks.example.com/images/disk.qcow2?token=s3cr3t-query";
  o.headers = {{"Authorization", "Basic c2VjcmV0LWhlYWRlcg=="}, {"Cookie", "session=cookie-value"}};
  o.http.initial_backoff_ms = 1;
  o.http.max_backoff_ms = 2;
  o.http.max_attempts = 4;
  o.http.connections = 3;
  o.cache.block_bytes = block;
  o.cache.cache_bytes = 8 * block;
  return o;
}

Result<HttpSource> open_over(Server& s, const HttpSourceOptions& o) {
  remote::HttpConnections c;
  c.probe = std::make_unique<ServerStreaming>(s);
  c.make = [&s]() -> Result<std::unique_ptr<Connection>> {
    return std::unique_ptr<Connection>(std::make_unique<ServerConnection>(s));
  };
  return remote::open_http_source_over(o, std::move(c), {});
}

void no_secret(std::string_view message) {
  CHECK(message.find("c2VjcmV0") == std::string_view::npos);
  CHECK(message.find("cookie-value") == std::string_view::npos);
  CHECK(message.find("s3cr3t") == std::string_view::npos);
}

}  // namespace

TEST_CASE("content range: the forms RFC 9110 allows, and nothing else", "[http]") {
  auto r = parse_content_range("bytes 0-1048575/5368709120");
  REQUIRE(r.ok());
  CHECK(r->satisfied);
  CHECK(r->first == 0);
  CHECK(r->last == 1048575);
  CHECK(r->total == 5368709120u);
  r = parse_content_range("BYTES 7-7/8");
  REQUIRE(r.ok());
  CHECK(r->first == 7);
  r = parse_content_range("bytes 0-9/*");
  REQUIRE(r.ok());
  CHECK(!r->total);
  r = parse_content_range("bytes */1000");
  REQUIRE(r.ok());
  CHECK(!r->satisfied);
  CHECK(r->total == 1000u);
  r = parse_content_range("bytes 18446744073709551614-18446744073709551614/9999999999999999999");
  CHECK(!r.ok());  // 20 digits
  r = parse_content_range("bytes 999999999999999999-999999999999999999/9999999999999999999");
  CHECK(r.ok());
  for (const char* bad : {"",
                          "bytes",
                          "bytes ",
                          "bytes 0-9",
                          "bytes 0-9/",
                          "bytes 9-0/10",
                          "bytes 0-10/10",
                          "bytes 0-9/10 ",
                          " bytes 0-9/10",
                          "bytes  0-9/10",
                          "bytes -1-9/10",
                          "bytes 0--9/10",
                          "bytes +0-9/10",
                          "bytes 0-9/+10",
                          "bits 0-9/10",
                          "bytes=0-9/10",
                          "bytes */*",
                          "bytes */",
                          "bytes 0-9/10/10",
                          "bytes 0x0-9/10",
                          "bytes 0-9/1e3",
                          "bytes 00000000000000000000-1/2"}) {
    INFO(bad);
    auto b = parse_content_range(bad);
    REQUIRE(!b.ok());
    CHECK(b.status().code() == Errc::corrupt);
    CHECK(b.status().message().find('\n') == std::string::npos);
  }
}

TEST_CASE("content range: a ranged reply is checked whole", "[http]") {
  Validator pinned{"\"abc\"", ""};
  Response ok{206, {{"content-range", "bytes 10-19/100"}, {"etag", "\"abc\""}}, "0123456789"};
  CHECK(!check_range_reply(ok, 10, 10, 100, pinned, "GET x", "hint"));

  Response shrt = ok;
  shrt.body.pop_back();
  auto r = check_range_reply(shrt, 10, 10, 100, pinned, "GET x", "hint");
  REQUIRE(r);
  CHECK(r->retry);
  CHECK(r->status.message() == "GET x: the reply holds 9 bytes at offset 10, expected 10");

  Response other = ok;
  other.headers[0].value = "bytes 0-9/100";
  r = check_range_reply(other, 10, 10, 100, pinned, "GET x", "hint");
  REQUIRE(r);
  CHECK(r->retry);

  Response grown = ok;
  grown.headers[0].value = "bytes 10-19/200";
  r = check_range_reply(grown, 10, 10, 100, pinned, "GET x", "hint");
  REQUIRE(r);
  CHECK(!r->retry);
  CHECK(r->status.message() ==
        "GET x: object changed while it was read (its size is 200 bytes now, was 100)");

  Response changed = ok;
  changed.headers[1].value = "\"abd\"";
  r = check_range_reply(changed, 10, 10, 100, pinned, "GET x", "hint");
  REQUIRE(r);
  CHECK(!r->retry);
  CHECK(r->status.message().find("object changed while it was read") != std::string::npos);

  Response refused{412, {}, ""};
  r = check_range_reply(refused, 10, 10, 100, pinned, "GET x", "hint");
  REQUIRE(r);
  CHECK(!r->retry);
  CHECK(r->status.message().find("object changed while it was read") != std::string::npos);

  Response whole{200, {{"etag", "\"abc\""}}, std::string(100, 'x')};
  r = check_range_reply(whole, 10, 10, 100, pinned, "GET x", "hint");
  REQUIRE(r);
  CHECK(!r->retry);

  Response denied{403, {}, ""};
  r = check_range_reply(denied, 10, 10, 100, pinned, "GET x", "hint");
  REQUIRE(r);
  CHECK(r->status.code() == Errc::invalid_argument);

  // Only a strong ETag is sent as If-Match; Last-Modified as If-Unmodified-Since.
  CHECK(precondition(pinned)->name == "if-match");
  CHECK(!precondition(Validator{"W/\"abc\"", ""}));
  CHECK(precondition(Validator{"", "Mon, 07 Dec 2026 10:00:00 GMT"})->name ==
        "if-unmodified-since");
  CHECK(!precondition(Validator{}));
}

TEST_CASE("http source: ranged blocks through the cache, headers on every request", "[http]") {
  Server s;
  s.bytes = pattern(100000, 1);
  auto src = open_over(s, options_for());
  REQUIRE(src.ok());
  REQUIRE(src->file);
  REQUIRE(!src->stream);
  CHECK(src->file->size() == 100000);
  CHECK(src->file->kind() == "http");
  CHECK(src->file->name().find("s3cr3t") == std::string::npos);
  std::vector<std::byte> got(100000);
  REQUIRE(src->file->read_at(0, got).ok());
  CHECK(got == s.bytes);
  std::vector<std::byte> tail(10);
  REQUIRE(src->file->read_at(99990, tail).ok());
  CHECK(std::memcmp(tail.data(), s.bytes.data() + 99990, 10) == 0);
  CHECK(!src->file->read_at(99995, tail).ok());
  const SourceStats st = src->file->stats();
  CHECK(st.bytes_received == 100000);
  CHECK(st.retries == 0);
  std::lock_guard lock(s.mu);
  // The probe, then blocks 1..24 (block 0 came with the probe).
  CHECK(s.seen.size() == 25);
  for (const Request& r : s.seen) {
    CHECK(header_of(r, "Authorization") == "Basic c2VjcmV0LWhlYWRlcg==");
    CHECK(header_of(r, "Cookie") == "session=cookie-value");
    CHECK(r.url == "https://disks.example.com/images/disk.qcow2?token=s3cr3t-query");
    no_secret(r.what);
  }
  CHECK(header_of(s.seen[0], "if-match").empty());
  CHECK(header_of(s.seen[1], "if-match") == "\"v1\"");
}

TEST_CASE("http source: a 200 to the ranged probe gives the body as a stream", "[http]") {
  Server s;
  s.bytes = pattern(50000, 2);
  s.ranges = false;
  auto src = open_over(s, options_for());
  REQUIRE(src.ok());
  REQUIRE(!src->file);
  REQUIRE(src->stream);
  std::vector<std::byte> got(60000);
  auto n = read_full(*src->stream, got);
  REQUIRE(n.ok());
  CHECK(*n == 50000);
  got.resize(50000);
  CHECK(got == s.bytes);
  CHECK(s.seen.size() == 1);
}

TEST_CASE("http source: a size the server does not state is refused", "[http]") {
  Server s;
  s.bytes = pattern(50000, 3);
  s.star_total = true;
  auto src = open_over(s, options_for());
  REQUIRE(!src.ok());
  CHECK(src.status().code() == Errc::unsupported);
  CHECK(src.status().message().find("does not state the object's size") != std::string::npos);
  no_secret(src.status().message());
}

TEST_CASE("http source: an empty object and a small one", "[http]") {
  Server s;
  auto empty = open_over(s, options_for());
  REQUIRE(empty.ok());
  REQUIRE(empty->file);
  CHECK(empty->file->size() == 0);
  Server small;
  small.bytes = pattern(100, 4);
  auto src = open_over(small, options_for());
  REQUIRE(src.ok());
  std::vector<std::byte> got(100);
  REQUIRE(src->file->read_at(0, got).ok());
  CHECK(got == small.bytes);
  CHECK(small.seen.size() == 1);
}

TEST_CASE("http source: the object changing while it is read fails the read", "[http]") {
  Server s;
  s.bytes = pattern(100000, 5);
  auto src = open_over(s, options_for());
  REQUIRE(src.ok());
  std::vector<std::byte> got(4096);
  REQUIRE(src->file->read_at(0, got).ok());
  s.etag = "\"v2\"";
  Status st = src->file->read_at(50000, got);
  REQUIRE(!st.ok());
  CHECK(st.code() == Errc::io_error);
  CHECK(st.message().find("object changed while it was read") != std::string::npos);
  CHECK(st.message().find("bytes 49152-53247") != std::string::npos);
  no_secret(st.message());
}

TEST_CASE("http source: short bodies are retried, then fail naming the URL and offset", "[http]") {
  Server s;
  s.bytes = pattern(100000, 6);
  s.short_bodies = 2;
  auto src = open_over(s, options_for());
  REQUIRE(src.ok());
  std::vector<std::byte> got(100000);
  REQUIRE(src->file->read_at(0, got).ok());
  CHECK(got == s.bytes);
  CHECK(src->file->stats().retries == 2);

  Server bad;
  bad.bytes = pattern(100000, 7);
  bad.always_short = true;
  auto src2 = open_over(bad, options_for());
  REQUIRE(src2.ok());
  std::vector<std::byte> part(10);
  const Status st = src2->file->read_at(8192, part);
  REQUIRE(!st.ok());
  CHECK(st.code() == Errc::io_error);
  CHECK(st.message() ==
        "http: GET https://disks.example.com/images/disk.qcow2?token=REDACTED bytes 8192-12287: "
        "the reply holds 4095 bytes at offset 8192, expected 4096 (gave up after 4 attempts)");
}

TEST_CASE("http source: a redirect is not followed", "[http]") {
  class Redirect final : public StreamingConnection {
   public:
    Attempt send(const Request&, std::stop_token) override {
      Attempt a;
      a.response = Response{302, {{"location", "https://elsewhere/disk?sig=secret"}}, ""};
      return a;
    }
    std::unique_ptr<BodyReader> take_body() override { return nullptr; }
  };
  remote::HttpConnections c;
  c.probe = std::make_unique<Redirect>();
  c.make = []() -> Result<std::unique_ptr<Connection>> {
    return invalid_argument("no block connection expected");
  };
  auto r = remote::open_http_source_over(options_for(), std::move(c), {});
  REQUIRE(!r.ok());
  CHECK(r.status().message() ==
        "http: GET https://disks.example.com/images/disk.qcow2?token=REDACTED bytes 0-4095: HTTP "
        "302: redirects are not followed (give the URL it points to)");
}

TEST_CASE("http source: destruction cancels the fetches in flight", "[http]") {
  // Blocks past the second never come: such a fetch waits for its stop token (at most 30 s).
  class Hanging final : public Connection {
   public:
    explicit Hanging(Server& s) : s_(s) {}
    Attempt send(const Request& r, std::stop_token stop) override {
      const std::string range = header_of(r, "range");
      if (range.starts_with("bytes=0-") || range.starts_with("bytes=4096-"))
        return ServerConnection(s_).send(r, stop);
      std::mutex m;
      std::condition_variable_any cv;
      std::unique_lock lock(m);
      cv.wait_for(lock, stop, std::chrono::seconds(30), [] { return false; });
      Attempt a;
      a.transport = cancelled("test: stopped");
      return a;
    }

   private:
    Server& s_;
  };
  Server s;
  s.bytes = pattern(64 * 4096, 10);
  remote::HttpConnections c;
  c.probe = std::make_unique<ServerStreaming>(s);
  c.make = [&s]() -> Result<std::unique_ptr<Connection>> {
    return std::unique_ptr<Connection>(std::make_unique<Hanging>(s));
  };
  auto src = remote::open_http_source_over(options_for(4096), std::move(c), {});
  REQUIRE(src.ok());
  // Two sequential reads (block 0 from the probe, block 1 served) start read-ahead of later
  // blocks, whose fetches hang.
  std::vector<std::byte> buf(4096);
  REQUIRE(src->file->read_at(0, buf).ok());
  REQUIRE(src->file->read_at(4096, buf).ok());
  REQUIRE(src->file->read_at(4096, buf).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  const auto start = std::chrono::steady_clock::now();
  src->file.reset();
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(10));
}

TEST_CASE("http source: refusals before any request", "[http]") {
  Server s;
  HttpSourceOptions o = options_for();
  o.url = "http://disks.example.com/disk.raw";
  auto r = open_over(s, o);
  REQUIRE(!r.ok());
  CHECK(r.status().message().find("plain http") != std::string::npos);
  o = options_for();
  o.headers.push_back({"X-Bad", "a\r\nInjected: yes"});
  r = open_over(s, o);
  REQUIRE(!r.ok());
  CHECK(r.status().message().find("X-Bad") != std::string::npos);
  CHECK(r.status().message().find("Injected") == std::string::npos);
  o = options_for();
  o.headers.push_back({"Range", "bytes=0-1"});
  CHECK(!open_over(s, o).ok());
  // The one check the library and vdconvert's --header share.
  for (const auto& [name, value] :
       std::vector<std::pair<std::string, std::string>>{{"If-None-Match", "x"},
                                                        {"host", "evil"},
                                                        {"Content-Length", "0"},
                                                        {"", "v"},
                                                        {"Bad Name", "v"},
                                                        {"X-Nul", std::string("a\0b", 3)},
                                                        {"X-Long", std::string(9000, 'v')}}) {
    const Status st = check_source_header(name, value);
    CHECK(st.code() == Errc::invalid_argument);
    CHECK(st.message().find(value.empty() ? "\x01" : value) == std::string::npos);
  }
  CHECK(check_source_header("Cookie", "session=abc; theme=dark").ok());
  CHECK(check_source_header("X-Custom_Token.1", "").ok());
  o = options_for(3000);
  CHECK(!open_over(s, o).ok());
  CHECK(s.seen.empty());
}

TEST_CASE("http source: the cache under concurrent readers", "[http]") {
  Server s;
  s.bytes = pattern(1u << 20, 8);
  s.short_bodies = 5;
  auto src = open_over(s, options_for(4096));
  REQUIRE(src.ok());
  const RemoteFile& f = *src->file;
  std::atomic<int> failures{0};
  std::vector<std::thread> readers;
  for (unsigned t = 0; t < 6; ++t)
    readers.emplace_back([&, t] {
      std::minstd_rand rng(t + 100);
      for (int i = 0; i < 300; ++i) {
        const std::uint64_t len = 1 + rng() % 20000;
        const std::uint64_t off = rng() % (s.bytes.size() - len);
        std::vector<std::byte> buf(len);
        if (!f.read_at(off, buf).ok() || std::memcmp(buf.data(), s.bytes.data() + off, len) != 0)
          ++failures;
      }
    });
  for (auto& r : readers) r.join();
  CHECK(failures == 0);
  const SourceStats st = f.stats();
  CHECK(st.retries == 5);
  CHECK(st.cache_hits > 0);
}

TEST_CASE("s3 source: HeadObject, then signed ranged GETs pinned with If-Match", "[http]") {
  Server s;
  s.bytes = pattern(70000, 9);
  // HEAD answers the size; GETs come to the ranged server.
  class S3Connection final : public Connection {
   public:
    explicit S3Connection(Server& s) : s_(s) {}
    Attempt send(const Request& r, std::stop_token) override {
      Attempt a;
      if (r.method == "HEAD") {
        a.response = Response{
            200, {{"content-length", std::to_string(s_.bytes.size())}, {"etag", s_.etag}}, ""};
        std::lock_guard lock(s_.mu);
        s_.seen.push_back(r);
        return a;
      }
      a.response = s_.answer(r);
      return a;
    }

   private:
    Server& s_;
  };
  S3SourceOptions o;
  o.url = "s3://disks/images/disk.vmdk";
  o.aws.access_key_id = "AKIDEXAMPLE";
  o.aws.secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
  o.aws.region = "us-east-1";
  o.aws.endpoint_url = "http://127.0.0.1:5000";
  o.aws.http.connections = 2;
  o.aws.http.initial_backoff_ms = 1;
  o.aws.http.max_backoff_ms = 2;
  o.cache.block_bytes = 16384;
  auto make = [&s](const aws::S3Object& object, const AwsOptions& a,
                   std::stop_token stop) -> Result<std::unique_ptr<aws::S3Client>> {
    return aws::S3Client::over(
        object, aws::AwsClient(a, ServiceClient(a.http, std::make_unique<S3Connection>(s), stop)));
  };
  auto f = remote::open_s3_source_over(o, make, {});
  REQUIRE(f.ok());
  CHECK((*f)->size() == 70000);
  CHECK((*f)->kind() == "s3-object");
  CHECK((*f)->name() == "s3://disks/images/disk.vmdk");
  std::vector<std::byte> got(70000);
  REQUIRE((*f)->read_at(0, got).ok());
  CHECK(got == s.bytes);
  {
    std::lock_guard lock(s.mu);
    REQUIRE(s.seen.size() == 6);  // HEAD + 5 blocks
    for (std::size_t i = 1; i < s.seen.size(); ++i) {
      CHECK(header_of(s.seen[i], "if-match") == "\"v1\"");
      CHECK(header_of(s.seen[i], "Authorization").starts_with("AWS4-HMAC-SHA256 "));
      CHECK(s.seen[i].url.starts_with("http://127.0.0.1:5000/disks/images/disk.vmdk"));
    }
  }
  s.etag = "\"v2\"";
  std::vector<std::byte> part(100);
  // A block not read yet: the server now refuses the pinned ETag (412).
  auto f2 = remote::open_s3_source_over(o, make, {});
  REQUIRE(f2.ok());
  s.etag = "\"v3\"";
  const Status st = (*f2)->read_at(20000, part);
  REQUIRE(!st.ok());
  CHECK(st.message().find("s3://disks/images/disk.vmdk") != std::string::npos);
  CHECK(st.message().find("object changed while it was read") != std::string::npos);
  CHECK(st.message().find("wJalr") == std::string::npos);
}
