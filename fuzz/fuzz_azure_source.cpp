// Fuzz target: what an Azure blob source takes from the network (open_blob_source over a
// scripted Blob service). Input: three sections separated by "\n==\n": the Get Blob Properties
// reply's headers ("name: value" lines: content-length, x-ms-blob-type, etag), the Get Page
// Ranges body, and a Get Blob reply (a status line, header lines, an empty line, the body),
// given to every ranged read. Invariants: an opened source's allocation() covers [0, size)
// exactly, in order, without empty extents; reading its first bytes never crashes; no message
// holds the SAS signature.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "http/service_client.h"
#include "remote/azure_blob/blob_client.h"
#include "remote/azure_blob/blob_source.h"

namespace {

using namespace vdisk;

std::vector<std::string_view> split(std::string_view text, std::string_view sep) {
  std::vector<std::string_view> out;
  for (;;) {
    const std::size_t p = text.find(sep);
    out.push_back(text.substr(0, p));
    if (p == std::string_view::npos) return out;
    text.remove_prefix(p + sep.size());
  }
}

std::vector<http::Header> headers_of(std::string_view text) {
  std::vector<http::Header> out;
  for (std::string_view line : split(text, "\n")) {
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string name(line.substr(0, colon));
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    out.push_back({std::move(name), std::string(value)});
  }
  return out;
}

struct Script {
  std::vector<http::Header> head;
  std::string pagelist;
  http::Response get;
};

class ScriptConnection final : public http::Connection {
 public:
  explicit ScriptConnection(const Script& s) : s_(s) {}
  http::Attempt send(const http::Request& r, std::stop_token) override {
    http::Attempt a;
    if (r.method == "HEAD") {
      a.response = http::Response{200, s_.head, ""};
    } else if (r.url.find("comp=pagelist") != std::string::npos) {
      // One page: a continuation is answered 404 (an error, not a loop).
      a.response = r.url.find("marker=") == std::string::npos ? http::Response{200, {}, s_.pagelist}
                                                              : http::Response{404, {}, ""};
    } else {
      a.response = s_.get;
    }
    return a;
  }

 private:
  const Script& s_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto parts = split(text, "\n==\n");
  if (parts.size() < 3) return 0;
  Script script;
  script.head = headers_of(parts[0]);
  script.pagelist = std::string(parts[1]);
  const std::size_t eol = parts[2].find('\n');
  const std::string_view status = parts[2].substr(0, eol);
  script.get.status = 0;
  for (char c : status.substr(0, 3))
    if (c >= '0' && c <= '9') script.get.status = script.get.status * 10 + (c - '0');
  if (eol != std::string_view::npos) {
    const std::string_view rest = parts[2].substr(eol + 1);
    const std::size_t blank = rest.find("\n\n");
    script.get.headers = headers_of(rest.substr(0, blank));
    if (blank != std::string_view::npos) script.get.body = std::string(rest.substr(blank + 2));
  }

  AzureBlobSourceOptions o;
  o.url = "https://acct.blob.core.windows.net/c/disk.vhd?sv=2021-12-02&sig=SECRETSIG";
  o.http.connections = 1;
  o.http.max_attempts = 1;
  o.cache.cache_bytes = 4u << 20;
  const azure::ClientMaker make =
      [&script](const azure::BlobUrl& blob, const HttpOptions& h,
                std::stop_token stop) -> Result<std::unique_ptr<azure::BlobClient>> {
    return azure::BlobClient::over(
        blob, http::ServiceClient(h, std::make_unique<ScriptConnection>(script), stop));
  };
  auto f = azure::open_blob_source(o, make, {});
  if (!f.ok()) {
    if (f.status().message().find("SECRETSIG") != std::string::npos) __builtin_trap();
    return 0;
  }
  const RemoteFile& file = **f;
  std::vector<Extent> map;
  if (file.allocation(0, file.size(), map).ok()) {
    std::uint64_t at = 0;
    for (const Extent& e : map) {
      if (e.offset != at || e.length == 0) __builtin_trap();
      at = e.end();
    }
    if (at != file.size()) __builtin_trap();
  }
  std::vector<std::byte> buf(static_cast<std::size_t>(std::min<std::uint64_t>(file.size(), 8192)));
  Status s = file.read_at(0, buf);
  if (!s.ok() && s.message().find("SECRETSIG") != std::string::npos) __builtin_trap();
  return 0;
}
