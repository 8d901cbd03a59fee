// Fuzz target: what the uploads parse from the network and from the user. Input: a selector
// byte, then text. 0: a Get Page Ranges reply (parse_page_list, with a blob length from the
// next 4 bytes); 1: an error reply (describe_failure's XML/JSON extraction); 2: a URL
// (parse_url, redact_url, parse_blob_url). Invariants: ranges come out aligned, ascending and
// inside the blob; a redacted URL never holds the value of a sig= parameter.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "remote/azure_blob/blob_client.h"
#include "http/client.h"
#include "http/url.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::uint8_t selector = data[0] % 3;
  std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  using namespace vdisk;
  if (selector == 0) {
    if (text.size() < 4) return 0;
    std::uint64_t length = 0;
    for (std::size_t i = 0; i < 4; ++i) length = length << 8 | static_cast<std::uint8_t>(text[i]);
    length <<= 9;
    text.remove_prefix(4);
    std::vector<azure::PageRange> out;
    auto marker = azure::parse_page_list(text, length, out);
    std::uint64_t prev = 0;
    for (const auto& r : out) {
      if (r.start % 512 || r.end % 512 || r.end <= r.start || r.start < prev || r.end > length)
        __builtin_trap();
      prev = r.end;
    }
    (void)marker;
  } else if (selector == 1) {
    http::Request req{"PUT", "https://a/b?sig=s", {}, {}, "fuzz"};
    http::Response resp{503, {}, std::string(text)};
    const std::string line = http::describe_failure(req, resp);
    if (line.find('\n') != std::string::npos) __builtin_trap();
  } else {
    // No sig= value survives: every "?sig=" or "&sig=" is followed by REDACTED (a bare
    // "sig=" in a path is a name, not a parameter).
    const auto check_redacted = [](const std::string& shown) {
      for (std::string_view lead : {"?sig=", "&sig="})
        for (std::size_t p = shown.find(lead); p != std::string::npos; p = shown.find(lead, p + 1))
          if (shown.compare(p + lead.size(), 8, "REDACTED") != 0) __builtin_trap();
    };
    check_redacted(http::redact_url(text));
    auto u = http::parse_url(text);
    if (u.ok() && u->path.empty()) __builtin_trap();
    auto b = azure::parse_blob_url(text, std::nullopt);
    if (b.ok()) check_redacted(b->display);
  }
  return 0;
}
