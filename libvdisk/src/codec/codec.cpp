// Engine dispatch for the codec interface (see codec.h).
#include "codec/codec.h"

#include <limits>

#include <fmt/format.h>

namespace vdisk::codec {

std::string_view engine_name(Engine engine) noexcept {
  switch (engine) {
    case Engine::isal: return "isal";
    case Engine::libdeflate: return "libdeflate";
    case Engine::zlib: break;
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
    case Engine::isal: return 3;
    case Engine::libdeflate: return 12;
    case Engine::zlib: break;
  }
  return 9;
}

bool primes_dictionary(Engine engine) noexcept { return engine != Engine::libdeflate; }

Result<std::unique_ptr<ChunkDeflater>> make_chunk_deflater(Engine engine, int level) {
  if (!engine_available(engine))
    return invalid_argument(
        fmt::format("deflate: engine {} is not compiled into this build", engine_name(engine)));
  if (level < 0 || level > max_level(engine))
    return invalid_argument(fmt::format("deflate: level {} not in 0..{} for engine {}", level,
                                        max_level(engine), engine_name(engine)));
#ifdef VDISK_HAVE_ISAL
  if (engine == Engine::isal) return detail::make_isal_deflater(level);
#endif
#ifdef VDISK_HAVE_LIBDEFLATE
  if (engine == Engine::libdeflate) return detail::make_libdeflate_deflater(level);
#endif
  return detail::make_zlib_deflater(level);
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
  return inflate_zlib_or_raw(engine_available(Engine::isal) ? Engine::isal : Engine::zlib, in,
                             out);
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

}  // namespace vdisk::codec
