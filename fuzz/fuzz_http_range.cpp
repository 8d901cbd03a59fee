// Fuzz target: the Content-Range of a ranged reply (http/content_range.h). Input: a selector
// byte, then text. 0: parse_content_range(text): when it accepts, FIRST <= LAST < TOTAL (when
// stated) and an unsatisfied range has a total; a refusal is one line. 1: 12 bytes (first,
// length, object size: big-endian 32-bit), then a Content-Range value: check_range_reply() of a
// 206 with that header and a body of `length` bytes accepts it only when the header parses to
// exactly [first, first + length) of the object's size, and its message is one line.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "http/client.h"
#include "http/content_range.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::uint8_t selector = data[0] % 2;
  std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  using namespace vdisk;
  if (selector == 0) {
    auto r = http::parse_content_range(text);
    if (r.ok()) {
      if (r->satisfied && r->first > r->last) __builtin_trap();
      if (r->satisfied && r->total && r->last >= *r->total) __builtin_trap();
      if (!r->satisfied && !r->total) __builtin_trap();
    } else if (r.status().message().find('\n') != std::string::npos) {
      __builtin_trap();
    }
    return 0;
  }
  if (text.size() < 12) return 0;
  const auto be32 = [&](std::size_t at) {
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < 4; ++i) v = v << 8 | static_cast<std::uint8_t>(text[at + i]);
    return v;
  };
  const std::uint64_t first = be32(0), length = be32(4), total = be32(8);
  text.remove_prefix(12);
  if (length == 0 || length > 65536) return 0;
  http::Response reply{206, {{"content-range", std::string(text)}}, std::string(length, 'x')};
  const auto verdict =
      http::check_range_reply(reply, first, length, total, http::Validator{}, "fuzz", "hint");
  if (!verdict) {
    auto r = http::parse_content_range(text);
    if (!r.ok() || !r->satisfied || r->first != first || r->last != first + length - 1 ||
        r->total != total)
      __builtin_trap();
  } else if (verdict->status.message().find('\n') != std::string::npos) {
    __builtin_trap();
  }
  return 0;
}
