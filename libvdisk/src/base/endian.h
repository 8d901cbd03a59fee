// Loading and storing fixed-width integers at explicit byte order from byte spans.
// On-disk structures are decoded field by field with these; structs are never cast over bytes.
#ifndef VDISK_UTIL_ENDIAN_H_
#define VDISK_UTIL_ENDIAN_H_

#include <cstddef>
#include <cstdint>
#include <span>

namespace vdisk::detail {

// Callers guarantee the span holds at least sizeof(T) bytes at the start; the codecs check
// record lengths before decoding fields.
template <class T>
inline T load_le(std::span<const std::byte> b) {
  T v = 0;
  for (std::size_t i = 0; i < sizeof(T); ++i) v |= static_cast<T>(static_cast<T>(b[i]) << (8 * i));
  return v;
}
template <class T>
inline T load_be(std::span<const std::byte> b) {
  T v = 0;
  for (std::size_t i = 0; i < sizeof(T); ++i) v = static_cast<T>((v << 8) | static_cast<T>(b[i]));
  return v;
}
template <class T>
inline void store_le(std::span<std::byte> b, T v) {
  for (std::size_t i = 0; i < sizeof(T); ++i) b[i] = static_cast<std::byte>((v >> (8 * i)) & 0xff);
}
template <class T>
inline void store_be(std::span<std::byte> b, T v) {
  for (std::size_t i = 0; i < sizeof(T); ++i)
    b[sizeof(T) - 1 - i] = static_cast<std::byte>((v >> (8 * i)) & 0xff);
}

inline std::uint16_t load_le16(std::span<const std::byte> b) { return load_le<std::uint16_t>(b); }
inline std::uint32_t load_le32(std::span<const std::byte> b) { return load_le<std::uint32_t>(b); }
inline std::uint64_t load_le64(std::span<const std::byte> b) { return load_le<std::uint64_t>(b); }
inline std::uint16_t load_be16(std::span<const std::byte> b) { return load_be<std::uint16_t>(b); }
inline std::uint32_t load_be32(std::span<const std::byte> b) { return load_be<std::uint32_t>(b); }
inline std::uint64_t load_be64(std::span<const std::byte> b) { return load_be<std::uint64_t>(b); }
inline void store_le16(std::span<std::byte> b, std::uint16_t v) { store_le(b, v); }
inline void store_le32(std::span<std::byte> b, std::uint32_t v) { store_le(b, v); }
inline void store_le64(std::span<std::byte> b, std::uint64_t v) { store_le(b, v); }
inline void store_be16(std::span<std::byte> b, std::uint16_t v) { store_be(b, v); }
inline void store_be32(std::span<std::byte> b, std::uint32_t v) { store_be(b, v); }
inline void store_be64(std::span<std::byte> b, std::uint64_t v) { store_be(b, v); }

}  // namespace vdisk::detail

#endif  // VDISK_UTIL_ENDIAN_H_
