// UTF-16 <-> UTF-8 for the names formats store in UTF-16 (VHD parent locators, Joliet), and
// the one UTF-8 decoder of the library (JSON output, UTF-8 to UTF-16).
#ifndef VDISK_UTIL_UTF_H_
#define VDISK_UTIL_UTF_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace vdisk::detail {

enum class Utf16End {
  at_nul,  // the text ends at the first NUL code unit (fixed-size fields padded with NULs)
  whole,   // every code unit is text; a NUL becomes a NUL byte for the caller to judge
};

inline constexpr std::uint32_t kReplacementChar = 0xFFFD;

// Decodes the code point at `text[pos]` and advances `pos` past it. Bytes that do not start a
// well-formed sequence (Unicode table 3-7: no overlongs, no surrogates, nothing above U+10FFFF)
// yield kReplacementChar, one per maximal subpart (the WHATWG / Unicode "best practice"): a
// truncated but so far valid sequence is one replacement, and decoding resumes at the first
// byte that broke it. `pos` must be < text.size().
std::uint32_t decode_utf8(std::string_view text, std::size_t& pos);

// Appends code point `cp` (at most U+10FFFF) encoded as UTF-8.
void append_utf8(std::string& out, std::uint32_t cp);

// UTF-16 code units in the given byte order, as UTF-8. Unpaired surrogates become U+FFFD; an
// odd trailing byte is ignored.
std::string utf16_to_utf8(std::span<const std::byte> text, bool big_endian,
                          Utf16End end = Utf16End::at_nul);

// UTF-8 to UTF-16 code units in the given byte order. Malformed UTF-8 becomes U+FFFD.
std::vector<std::byte> utf8_to_utf16(const std::string& text, bool big_endian);

}  // namespace vdisk::detail

#endif  // VDISK_UTIL_UTF_H_
