#include "util/utf.h"

namespace vdisk::detail {

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
  auto cont = [&](std::size_t i) { return static_cast<unsigned char>(text[i]) & 0x3Fu; };
  for (std::size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    std::uint32_t cp = 0xFFFD;
    std::size_t len = 1;
    if (c < 0x80) {
      cp = c;
    } else if ((c >> 5) == 0x6 && i + 1 < text.size()) {
      cp = (c & 0x1Fu) << 6 | cont(i + 1);
      len = 2;
    } else if ((c >> 4) == 0xE && i + 2 < text.size()) {
      cp = (c & 0x0Fu) << 12 | cont(i + 1) << 6 | cont(i + 2);
      len = 3;
    } else if ((c >> 3) == 0x1E && i + 3 < text.size()) {
      cp = (c & 0x07u) << 18 | cont(i + 1) << 12 | cont(i + 2) << 6 | cont(i + 3);
      len = 4;
    }
    i += len;
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
