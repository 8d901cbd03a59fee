// The HTTP layer without a network: URL parsing and transport rules, redaction, error lines,
// and the retry loop driven by a scripted connection.
#include <catch2/catch.hpp>

#include <algorithm>
#include <deque>

#include "http/client.h"
#include "http/url.h"
#include "vdisk/cloud.h"

using namespace vdisk;
using namespace vdisk::http;

namespace {

// Answers each attempt from a script: a status (with headers), or a transport failure.
class ScriptedConnection final : public Connection {
 public:
  struct Step {
    long status = 0;  // 0: a transport failure
    bool retryable = true;
    std::vector<Header> headers = {};
    std::string body = {};
  };
  explicit ScriptedConnection(std::deque<Step> steps) : steps_(std::move(steps)) {}
  Attempt send(const Request&, std::stop_token) override {
    ++attempts;
    Attempt a;
    if (steps_.empty()) {
      a.response = Response{200, {}, ""};
      return a;
    }
    Step s = steps_.front();
    steps_.pop_front();
    if (s.status == 0) {
      a.transport = io_error("test: connection reset by peer");
      a.retryable = s.retryable;
    } else {
      a.response = Response{s.status, s.headers, s.body};
    }
    return a;
  }
  int attempts = 0;

 private:
  std::deque<Step> steps_;
};

HttpOptions fast() {
  HttpOptions o;
  o.initial_backoff_ms = 1;
  o.max_backoff_ms = 2;
  return o;
}

}  // namespace

TEST_CASE("http: URLs are parsed, checked and shown without secrets", "[http]") {
  SECTION("parts") {
    auto u = parse_url("HTTPS://Acct.Blob.Core.Windows.Net/c/dir/disk.vhd?sv=2021&sig=a%2Bb#frag");
    REQUIRE(u.ok());
    CHECK(u->scheme == "https");
    CHECK(u->host == "acct.blob.core.windows.net");
    CHECK(u->port == 443);
    CHECK_FALSE(u->explicit_port);
    CHECK(u->path == "/c/dir/disk.vhd");
    CHECK(u->query == "sv=2021&sig=a%2Bb");
    CHECK(u->without_query() == "https://acct.blob.core.windows.net/c/dir/disk.vhd");
    auto v = parse_url("http://[::1]:10000/devstoreaccount1/c/b");
    REQUIRE(v.ok());
    CHECK(v->host == "::1");
    CHECK(v->port == 10000);
    CHECK(v->origin() == "http://[::1]:10000");
    auto w = parse_url("http://127.0.0.1:8080");
    REQUIRE(w.ok());
    CHECK(w->path == "/");
  }
  SECTION("refusals") {
    for (const char* bad :
         {"ftp://h/x", "https://", "https:///x", "https://h:0/x", "https://h:65536/x",
          "https://h:12a/x", "https://u:p@h/x?sig=s", "https://h/a b", "h/x", "https://[::1/x",
          "https://a<b>.blob.core.windows.net/c/x", "https://a!sig=x.net/c/x",
          "https://h\xb4.net/c/x", "https://[::1%25eth0]/x", "https://[fe80::g]/x"}) {
      INFO(bad);
      auto r = parse_url(bad);
      REQUIRE_FALSE(r.ok());
      CHECK(r.status().code() == Errc::invalid_argument);
      CHECK(r.status().message().find("p@") == std::string::npos);
    }
  }
  SECTION("plain http only for loopback") {
    for (const char* host : {"localhost", "md-x.localhost", "127.0.0.1", "127.1.2.3", "::1"})
      CHECK(is_loopback_host(host));
    for (const char* host : {"localhost.example.com", "128.0.0.1", "127.0.0", "10.0.0.1",
                             "127.0.0.256", "example.com"})
      CHECK_FALSE(is_loopback_host(host));
    CHECK(require_secure_transport(*parse_url("http://127.0.0.1:1/a")).ok());
    CHECK(require_secure_transport(*parse_url("https://example.com/a")).ok());
    Status s = require_secure_transport(*parse_url("http://example.com/a?sig=secret"));
    CHECK(s.code() == Errc::invalid_argument);
    CHECK(s.message().find("secret") == std::string::npos);
  }
  SECTION("redaction") {
    CHECK(redact_url("https://a/b?sv=1&sig=abc%3D&se=2") == "https://a/b?sv=1&sig=REDACTED&se=2");
    CHECK(redact_url("https://a/b?X-Amz-Signature=ff&X-Amz-Credential=AK%2F1&x=1") ==
          "https://a/b?X-Amz-Signature=REDACTED&X-Amz-Credential=REDACTED&x=1");
    CHECK(redact_url("https://a/b?AccessKey=1&api_token=2&Secret=3&password=4") ==
          "https://a/b?AccessKey=REDACTED&api_token=REDACTED&Secret=REDACTED&password=REDACTED");
    CHECK(redact_url("https://user:pw@a/b") == "https://REDACTED@a/b");
    CHECK(redact_url("https://a/b") == "https://a/b");
    CHECK(redact_url("https://md-x.z1.b=b&si=policy&sig=zzz") ==
          "https://md-x.z1.b=b&si=policy&sig=REDACTED");
    CHECK(redact_url("h&sig=/;x/cig?2") == "h&sig=REDACTED;x/cig?2");
    CHECK(redact_url("not a url ?sig=x") == "not a url ?sig=REDACTED");
    CHECK(redact_secrets("PUT https://a/b?sig=1 failed; see http://c/d?x=2&sig=3 now") ==
          "PUT https://a/b?sig=REDACTED failed; see http://c/d?x=2&sig=REDACTED now");
    CHECK(is_remote_url("HTTPS://x"));
    CHECK(is_remote_url("http://x"));
    CHECK_FALSE(is_remote_url("disk.vhd"));
    CHECK_FALSE(is_remote_url("https:/x"));
    CHECK(percent_encode("a b/c~", false) == "a%20b%2Fc~");
    CHECK(percent_encode("a b/c~", true) == "a%20b/c~");
  }
}

TEST_CASE("http: failures are one line with the service's code, secrets redacted", "[http]") {
  Request r{"PUT", "https://a/b?sig=s", {}, {}, "azure: Put Page bytes=0-511 of https://a/b"};
  Response x{403,
             {},
             "<?xml?><Error><Code>AuthenticationFailed</Code><Message>Server failed.\n"
             "RequestId:1 see https://a/b?sig=leak</Message></Error>"};
  const std::string line = describe_failure(r, x);
  CHECK(line.find("HTTP 403 (AuthenticationFailed: Server failed. RequestId:1") !=
        std::string::npos);
  CHECK(line.find("leak") == std::string::npos);
  CHECK(line.find('\n') == std::string::npos);
  Response j{400, {}, R"({"__type":"ValidationException","message":"bad block"})"};
  CHECK(describe_failure(r, j).ends_with("HTTP 400 (ValidationException: bad block)"));
  Response h{503, {{"x-ms-error-code", "ServerBusy"}}, ""};
  CHECK(describe_failure(r, h).ends_with("HTTP 503 (ServerBusy)"));
  CHECK(xml_text("<a><b>x &amp; &lt;y&gt;</b></a>", "b") == "x & <y>");
  CHECK_FALSE(xml_text("<a><b>x</a>", "b"));
}

TEST_CASE("http: the retry loop", "[http]") {
  Request r{"PUT", "https://a/b", {}, {}, "op"};
  SECTION("retryable statuses and resets are retried, then the answer is returned") {
    ScriptedConnection c({{503}, {0}, {429, true, {{"retry-after", "0"}}}, {500}, {201}});
    std::vector<std::string> notes;
    HttpOptions o = fast();
    o.on_retry = [&](std::string_view n) { notes.emplace_back(n); };
    auto resp = send_with_retry(c, r, o);
    REQUIRE(resp.ok());
    CHECK(resp->status == 201);
    CHECK(c.attempts == 5);
    REQUIRE(notes.size() == 4);
    CHECK(notes[0].find("op: HTTP 503; retry 1 of 7 in") == 0);
    CHECK(notes[1].find("connection reset") != std::string::npos);
  }
  SECTION("other statuses are answers, not retried") {
    for (long st : {400L, 403L, 404L, 409L, 412L}) {
      ScriptedConnection c({{st}, {201}});
      auto resp = send_with_retry(c, r, fast());
      REQUIRE(resp.ok());
      CHECK(resp->status == st);
      CHECK(c.attempts == 1);
    }
  }
  SECTION("a transport failure that cannot succeed is not retried") {
    ScriptedConnection c({{0, false}, {201}});
    auto resp = send_with_retry(c, r, fast());
    REQUIRE_FALSE(resp.ok());
    CHECK(c.attempts == 1);
  }
  SECTION("attempts are bounded") {
    ScriptedConnection c({{0}, {0}, {0}, {0}, {201}});
    HttpOptions o = fast();
    o.max_attempts = 3;
    auto resp = send_with_retry(c, r, o);
    REQUIRE_FALSE(resp.ok());
    CHECK(resp.status().message().find("gave up after 3 attempts") != std::string::npos);
    CHECK(c.attempts == 3);
    ScriptedConnection d({{503}, {503}, {503}, {201}});
    auto last = send_with_retry(d, r, o);
    REQUIRE(last.ok());
    CHECK(last->status == 503);  // the last answer, for the caller's message
  }
  SECTION("time is bounded") {
    ScriptedConnection c({{0}, {0}, {201}});
    HttpOptions o = fast();
    o.max_retry_seconds = 0;
    auto resp = send_with_retry(c, r, o);
    REQUIRE_FALSE(resp.ok());
    CHECK(c.attempts == 1);
  }
  SECTION("Retry-After is honoured up to the backoff bound") {
    ScriptedConnection c({{503, true, {{"retry-after", "1"}}}, {201}});
    HttpOptions o = fast();
    o.max_backoff_ms = 150;
    std::string note;
    o.on_retry = [&](std::string_view n) { note = n; };
    REQUIRE(send_with_retry(c, r, o).ok());
    CHECK(note.ends_with("in 150 ms"));
  }
  SECTION("a stop token ends the loop") {
    std::stop_source stop;
    stop.request_stop();
    ScriptedConnection c(std::deque<ScriptedConnection::Step>{{503}});
    auto resp = send_with_retry(c, r, fast(), stop.get_token());
    REQUIRE_FALSE(resp.ok());
    CHECK(resp.status().code() == Errc::cancelled);
  }
}

TEST_CASE("http: what a server echoes of the request's secrets is scrubbed", "[http]") {
  SECTION("the secret values of a URL and of credential headers") {
    const auto v = secret_values(
        "https://a/b?sv=2021-12-02&sig=ab%2Bcd%3D%3D&X-Amz-Security-Token=t0k3n5&key=1");
    CHECK(v == std::vector<std::string>{"ab%2Bcd%3D%3D", "ab+cd==", "t0k3n5"});  // "1": too short
    std::vector<std::string> h;
    add_header_secrets("AWS4-HMAC-SHA256 Credential=AKID/x, Signature=0123456789ab", h);
    CHECK(std::find(h.begin(), h.end(), "0123456789ab") != h.end());
    CHECK(std::find(h.begin(), h.end(), "AWS4-HMAC-SHA256") == h.end());  // the scheme
    CHECK(scrub("a ab+cd== b ab+cd==", v) == "a REDACTED b REDACTED");
  }
  SECTION("headers always, the body of an error, never the data of a 2xx") {
    Request r{"GET",
              "https://a/b?sig=SECRETSIG",
              {{"Authorization", "Bearer T0KEN-xyz"}},
              {},
              "azure: Get Blob"};
    r.secret_headers = {"cookie-value-1"};
    ScriptedConnection c({{503, true, {{"x-ms-error-code", "SECRETSIG"}}, "echo T0KEN-xyz"},
                          {412, true, {{"etag", "\"SECRETSIG\""}}, "<Code>SECRETSIG</Code>"}});
    std::vector<std::string> notes;
    HttpOptions o = fast();
    o.on_retry = [&](std::string_view n) { notes.emplace_back(n); };
    auto resp = send_with_retry(c, r, o);
    REQUIRE(resp.ok());
    CHECK(resp->status == 412);
    CHECK(resp->header("etag") == "\"REDACTED\"");
    CHECK(resp->body == "<Code>REDACTED</Code>");
    REQUIRE(notes.size() == 1);
    CHECK(notes[0].find("SECRETSIG") == std::string::npos);
    ScriptedConnection d({{206, true, {{"x-echo", "cookie-value-1"}}, "SECRETSIG data"}});
    auto data = send_with_retry(d, r, o);
    REQUIRE(data.ok());
    CHECK(data->header("x-echo") == "REDACTED");
    CHECK(data->body == "SECRETSIG data");  // data is data
  }
}
