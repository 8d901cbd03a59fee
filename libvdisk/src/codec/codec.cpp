// Engine dispatch for the codec interface (see codec.h).
#include "codec/codec.h"

#include <algorithm>
#include <cstring>
#include <limits>

#include <fmt/format.h>
#include <zlib.h>

namespace vdisk::codec {

std::string_view engine_name(Engine engine) noexcept {
  switch (engine) {
    case Engine::isal:
      return "isal";
    case Engine::libdeflate:
      return "libdeflate";
    case Engine::zlib:
      break;
  }
  return "zlib";
}

bool engine_available(Engine engine) noexcept {
#ifdef VDISK_HAVE_ISAL
  if (engine == Engine::isal) return true;
#endif
#ifdef VDISK_HAVE_LIBDEFLATE
  if (engine == Engine::libdeflate) return true;
#endif
  return engine == Engine::zlib;
}

std::vector<Engine> available_engines() {
  std::vector<Engine> v{Engine::zlib};
  for (Engine e : {Engine::isal, Engine::libdeflate})
    if (engine_available(e)) v.push_back(e);
  return v;
}

int max_level(Engine engine) noexcept {
  switch (engine) {
    case Engine::isal:
      return 3;
    case Engine::libdeflate:
      return 12;
    case Engine::zlib:
      break;
  }
  return 9;
}

bool primes_dictionary(Engine engine) noexcept { return engine != Engine::libdeflate; }

namespace {
// The engine is compiled in and takes `level`.
Status check_engine_level(Engine engine, int level) {
  if (!engine_available(engine))
    return invalid_argument(
        fmt::format("deflate: engine {} is not compiled into this build", engine_name(engine)));
  if (level < 0 || level > max_level(engine))
    return invalid_argument(fmt::format("deflate: level {} not in 0..{} for engine {}", level,
                                        max_level(engine), engine_name(engine)));
  return {};
}
}  // namespace

Result<std::unique_ptr<ChunkDeflater>> make_chunk_deflater(Engine engine, int level) {
  VDISK_RETURN_IF_ERROR(check_engine_level(engine, level));
#ifdef VDISK_HAVE_ISAL
  if (engine == Engine::isal) return detail::make_isal_deflater(level);
#endif
#ifdef VDISK_HAVE_LIBDEFLATE
  if (engine == Engine::libdeflate) return detail::make_libdeflate_deflater(level);
#endif
  return detail::make_zlib_deflater(level);
}

std::size_t zlib_compress_bound(std::size_t n) noexcept {
  // Stored blocks cost 5 bytes per 16 KiB at worst (ISA-L), zlib framing 6; n / 8 + 1024 covers
  // every engine's own bound (zlib's compressBound is n + n / 4096 + 13 or so).
  return n + n / 8 + 1024;
}

namespace detail {
Status check_compress_args(std::span<const std::byte> in, std::span<const std::byte> out) {
  constexpr std::size_t kMaxIn = 16u << 20;
  if (in.size() > kMaxIn)
    return invalid_argument(
        fmt::format("deflate: buffer of {} bytes is above the 16 MiB limit", in.size()));
  if (out.size() < zlib_compress_bound(in.size()))
    return invalid_argument(
        fmt::format("deflate: output room of {} bytes is below the bound {} for {} input bytes",
                    out.size(), zlib_compress_bound(in.size()), in.size()));
  return {};
}

std::size_t store_zlib(std::span<const std::byte> in, std::span<std::byte> out) noexcept {
  // RFC 1950 header (deflate, 32 KiB window, no dictionary, "fastest" level; 0x7801 % 31 == 0),
  // RFC 1951 stored blocks of at most 65535 bytes, Adler-32 big-endian.
  constexpr std::size_t kMaxStored = 65535;
  std::size_t at = 0;
  out[at++] = std::byte{0x78};
  out[at++] = std::byte{0x01};
  std::size_t done = 0;
  do {
    const std::size_t n = std::min(kMaxStored, in.size() - done);
    const bool final = done + n == in.size();
    out[at++] = std::byte{final ? std::uint8_t{1} : std::uint8_t{0}};
    out[at++] = static_cast<std::byte>(n & 0xff);
    out[at++] = static_cast<std::byte>(n >> 8);
    out[at++] = static_cast<std::byte>(~n & 0xff);
    out[at++] = static_cast<std::byte>((~n >> 8) & 0xff);
    if (n > 0) std::memcpy(out.data() + at, in.data() + done, n);
    at += n;
    done += n;
  } while (done < in.size());
  const auto adler = static_cast<std::uint32_t>(::adler32(::adler32(0, nullptr, 0),
                                                          reinterpret_cast<const Bytef*>(in.data()),
                                                          static_cast<uInt>(in.size())));
  for (int shift = 24; shift >= 0; shift -= 8)
    out[at++] = static_cast<std::byte>((adler >> shift) & 0xff);
  return at;
}
}  // namespace detail

Result<std::unique_ptr<BufferCompressor>> make_buffer_compressor(Engine engine, int level) {
  VDISK_RETURN_IF_ERROR(check_engine_level(engine, level));
#ifdef VDISK_HAVE_ISAL
  if (engine == Engine::isal) return detail::make_isal_compressor(level);
#endif
#ifdef VDISK_HAVE_LIBDEFLATE
  if (engine == Engine::libdeflate) return detail::make_libdeflate_compressor(level);
#endif
  return detail::make_zlib_compressor(level);
}

bool looks_like_zlib(std::span<const std::byte> in) noexcept {
  if (in.size() < 2) return false;
  const unsigned cmf = std::to_integer<unsigned>(in[0]);
  const unsigned flg = std::to_integer<unsigned>(in[1]);
  return (cmf & 0x0f) == 8 && (cmf >> 4) <= 7 && (cmf * 256 + flg) % 31 == 0;
}

Result<std::size_t> inflate_zlib_or_raw(Engine engine, std::span<const std::byte> in,
                                        std::span<std::byte> out) {
  if (!engine_available(engine))
    return invalid_argument(
        fmt::format("inflate: engine {} is not compiled into this build", engine_name(engine)));
  constexpr std::size_t kMax = std::numeric_limits<std::uint32_t>::max();
  if (in.size() > kMax || out.size() > kMax)
    return invalid_argument(fmt::format(
        "inflate: buffers of {} and {} bytes exceed the 4 GiB - 1 limit", in.size(), out.size()));
  const bool zlib = looks_like_zlib(in);
#ifdef VDISK_HAVE_ISAL
  if (engine == Engine::isal) return detail::isal_inflate(zlib, in, out);
#endif
#ifdef VDISK_HAVE_LIBDEFLATE
  if (engine == Engine::libdeflate) return detail::libdeflate_inflate(zlib, in, out);
#endif
  return detail::zlib_inflate(zlib, in, out);
}

Result<std::size_t> inflate_zlib_or_raw(std::span<const std::byte> in, std::span<std::byte> out) {
  return inflate_zlib_or_raw(engine_available(Engine::isal) ? Engine::isal : Engine::zlib, in, out);
}

Result<std::size_t> inflate_raw(std::span<const std::byte> in, std::span<std::byte> out) {
  constexpr std::size_t kMax = std::numeric_limits<std::uint32_t>::max();
  if (in.size() > kMax || out.size() > kMax)
    return invalid_argument(fmt::format(
        "inflate: buffers of {} and {} bytes exceed the 4 GiB - 1 limit", in.size(), out.size()));
#ifdef VDISK_HAVE_ISAL
  return detail::isal_inflate(false, in, out);
#else
  return detail::zlib_inflate(false, in, out);
#endif
}

std::uint32_t crc32(std::uint32_t crc, std::span<const std::byte> data) noexcept {
#if defined(VDISK_HAVE_ISAL)
  return detail::isal_crc32(crc, data);
#elif defined(VDISK_HAVE_LIBDEFLATE)
  return detail::libdeflate_crc32(crc, data);
#else
  // zlib takes at most 4 GiB - 1 bytes per call.
  constexpr std::size_t kStep = 1u << 30;
  while (!data.empty()) {
    const std::size_t n = std::min(kStep, data.size());
    crc = static_cast<std::uint32_t>(
        ::crc32(crc, reinterpret_cast<const Bytef*>(data.data()), static_cast<uInt>(n)));
    data = data.subspan(n);
  }
  return crc;
#endif
}

}  // namespace vdisk::codec
