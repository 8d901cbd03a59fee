#include "base/utf.h"

namespace vdisk::detail {

std::uint32_t decode_utf8(std::string_view text, std::size_t& pos) {
  const auto c = static_cast<unsigned char>(text[pos++]);
  if (c < 0x80) return c;
  // Continuation count, the value bits of the lead byte, and the range of the second byte.
  std::size_t n = 0;
  unsigned lo = 0x80, hi = 0xBF;
  if (c >= 0xC2 && c <= 0xDF) {
    n = 1;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 2;
    if (c == 0xE0) lo = 0xA0;  // overlong below U+0800
    if (c == 0xED) hi = 0x9F;  // surrogates U+D800..U+DFFF
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 3;
    if (c == 0xF0) lo = 0x90;  // overlong below U+10000
    if (c == 0xF4) hi = 0x8F;  // above U+10FFFF
  } else {
    return kReplacementChar;  // a continuation byte, C0, C1 or F5..FF
  }
  std::uint32_t cp = c & (0x3Fu >> n);
  for (std::size_t k = 0; k < n; ++k) {
    if (pos >= text.size()) return kReplacementChar;
    const auto cc = static_cast<unsigned char>(text[pos]);
    if (cc < lo || cc > hi) return kReplacementChar;  // resume at cc
    cp = (cp << 6) | (cc & 0x3Fu);
    ++pos;
    lo = 0x80;
    hi = 0xBF;
  }
  return cp;
}

void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

std::string utf16_to_utf8(std::span<const std::byte> text, bool big_endian, Utf16End end) {
  auto unit = [&](std::size_t k) -> std::uint32_t {
    const auto a = static_cast<std::uint32_t>(text[2 * k]);
    const auto b = static_cast<std::uint32_t>(text[2 * k + 1]);
    return big_endian ? (a << 8 | b) : (b << 8 | a);
  };
  std::string out;
  const std::size_t n = text.size() / 2;
  for (std::size_t k = 0; k < n; ++k) {
    const std::uint32_t u = unit(k);
    if (u == 0 && end == Utf16End::at_nul) break;
    if (u >= 0xD800 && u < 0xDC00 && k + 1 < n) {
      const std::uint32_t v = unit(k + 1);
      if (v >= 0xDC00 && v < 0xE000) {
        append_utf8(out, 0x10000 + ((u - 0xD800) << 10) + (v - 0xDC00));
        ++k;
        continue;
      }
    }
    append_utf8(out, u >= 0xD800 && u < 0xE000 ? 0xFFFD : u);
  }
  return out;
}

std::vector<std::byte> utf8_to_utf16(const std::string& text, bool big_endian) {
  std::vector<std::byte> out;
  auto emit = [&](std::uint32_t u) {
    const auto hi = static_cast<std::byte>(u >> 8), lo = static_cast<std::byte>(u & 0xFF);
    out.push_back(big_endian ? hi : lo);
    out.push_back(big_endian ? lo : hi);
  };
  for (std::size_t i = 0; i < text.size();) {
    const std::uint32_t cp = decode_utf8(text, i);
    if (cp >= 0x10000) {
      emit(0xD800 + ((cp - 0x10000) >> 10));
      emit(0xDC00 + ((cp - 0x10000) & 0x3FF));
    } else {
      emit(cp);
    }
  }
  return out;
}

}  // namespace vdisk::detail
