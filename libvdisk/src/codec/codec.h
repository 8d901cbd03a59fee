// Deflate engines behind one small interface (internal; not installed).
//
// Engines: zlib (always compiled in), Intel ISA-L (when the build found libisal-dev; see
// VDISK_WITH_ISAL) and libdeflate (libdeflate-dev; VDISK_WITH_LIBDEFLATE). ISA-L compresses 3-7x
// faster per core than zlib at a slightly worse ratio and has levels 0..3 only; zlib has levels
// 0..9; libdeflate has levels 0..12 and at its high levels (10-12, near-optimal parsing)
// compresses a few percent smaller than zlib 9 at about the same CPU cost, but it cannot be
// primed with a dictionary (its chunks are independent).
//
// Four services:
//  (a) ChunkDeflater: the building block of pigz-style parallel gzip. One call compresses one
//      chunk of a longer stream as raw deflate, primed with the stream's previous bytes as the
//      dictionary (only the last 32 KiB matter; engines that cannot prime ignore it, see
//      primes_dictionary()), and ends it either with a sync flush (an empty
//      stored block: byte-aligned, non-final, so the next chunk's output can be appended) or as
//      the final block. Chunks compressed this way and concatenated in order form one valid
//      deflate stream. The output depends only on (engine, level, dict, input, last): never on
//      which chunks the same deflater compressed before.
//  (b) inflate_zlib_or_raw: whole-buffer inflate of a zlib-framed (RFC 1950, Adler-32 checked)
//      or raw (RFC 1951) deflate buffer into a caller's bounded output, as VMDK grains need.
//  (c) BufferCompressor: whole-buffer compress into one self-contained zlib stream (RFC 1950,
//      no dictionary), as VMDK stream grains need; into a caller's buffer, no allocation.
//  (d) crc32: the gzip CRC-32 with the fastest implementation compiled in.
//
// Error messages start with "deflate:" / "inflate:"; callers add the format, structure and
// offset with Status::with_context.
#ifndef VDISK_CODEC_CODEC_H_
#define VDISK_CODEC_CODEC_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

#include "vdisk/status.h"

namespace vdisk::codec {

enum class Engine : std::uint8_t { zlib, isal, libdeflate };

// "zlib", "isal" or "libdeflate".
std::string_view engine_name(Engine engine) noexcept;
// Whether `engine` is compiled into this build (zlib always is).
bool engine_available(Engine engine) noexcept;
// The engines compiled in, zlib first.
std::vector<Engine> available_engines();
// Highest level `engine` accepts (zlib 9, ISA-L 3, libdeflate 12); the lowest is 0 for all.
int max_level(Engine engine) noexcept;
// Whether the engine's chunks use the dictionary (zlib, ISA-L) or ignore it (libdeflate).
bool primes_dictionary(Engine engine) noexcept;

// ---- (a) chunk deflater --------------------------------------------------------------------

// An allocator whose value-less construct() leaves a trivial type uninitialised, so that
// resize() of an OutputBuffer only allocates: the deflaters size their output to the engine's
// bound before writing it, and zero-filling ~1 MiB per chunk first cost a memset of every
// output byte (bench/RESULTS.md, "Profiles").
template <class T>
struct UninitialisedAllocator : std::allocator<T> {
  template <class U>
  struct rebind {
    using other = UninitialisedAllocator<U>;
  };
  UninitialisedAllocator() = default;
  template <class U>
  UninitialisedAllocator(const UninitialisedAllocator<U>&) noexcept {}
  template <class U>
  void construct(U* p) noexcept {
    ::new (static_cast<void*>(p)) U;
  }
  template <class U, class... Args>
  void construct(U* p, Args&&... args) {
    ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
  }
};
using OutputBuffer = std::vector<std::byte, UninitialisedAllocator<std::byte>>;

class ChunkDeflater {
 public:
  virtual ~ChunkDeflater() = default;
  // Appends to `out` the raw deflate encoding of `input` (which may be empty), primed with
  // `dict` (any length; bytes before its last 32 KiB are ignored), ending with a sync flush
  // when `last` is false and with the final block (BFINAL set) when it is true. `out` keeps its
  // previous contents. Errors are internal (the engine refused valid arguments).
  virtual Status deflate_chunk(std::span<const std::byte> dict, std::span<const std::byte> input,
                               bool last, OutputBuffer& out) = 0;
  virtual Engine engine() const noexcept = 0;
  virtual int level() const noexcept = 0;
};

// A deflater for `engine` at `level`. invalid_argument when the engine is not compiled in or
// the level is outside 0..max_level(engine). One deflater serves one thread at a time.
Result<std::unique_ptr<ChunkDeflater>> make_chunk_deflater(Engine engine, int level);

// ---- (b) whole-buffer inflate --------------------------------------------------------------

// Whether `in` starts with a plausible zlib header (deflate method, window <= 32 KiB, header
// check divisible by 31). A raw deflate stream can pass this test by chance; VMDK grains are
// zlib-framed in practice.
bool looks_like_zlib(std::span<const std::byte> in) noexcept;

// Inflates `in` into `out` and returns the number of bytes produced (<= out.size()). `in` is
// taken as zlib-framed when looks_like_zlib(in), else as raw deflate; for zlib the Adler-32
// trailer is verified. Bytes after the end of the stream are ignored. Errors (code corrupt):
// the stream is malformed or truncated, a preset dictionary is required, the checksum differs,
// or the output would exceed out.size() ("inflates to more than N bytes"). Uses the fastest
// engine compiled in; the overload picks one (invalid_argument if it is not compiled in).
// Inputs and outputs up to 4 GiB - 1 each.
Result<std::size_t> inflate_zlib_or_raw(std::span<const std::byte> in, std::span<std::byte> out);
Result<std::size_t> inflate_zlib_or_raw(Engine engine, std::span<const std::byte> in,
                                        std::span<std::byte> out);

// Inflates `in` as raw deflate (RFC 1951, no zlib or gzip framing, whatever its first bytes look
// like) into `out`, with the fastest engine compiled in; as inflate_zlib_or_raw otherwise. For
// formats that never frame their streams (qcow2 compressed clusters), where the zlib-header
// guess could misread a raw stream that happens to start like one.
Result<std::size_t> inflate_raw(std::span<const std::byte> in, std::span<std::byte> out);

// ---- (c) whole-buffer zlib compress ----------------------------------------------------

// Output bytes that always suffice for compress_zlib() of `n` input bytes with any engine and
// level (stored blocks plus framing, with slack for ISA-L's worst case).
std::size_t zlib_compress_bound(std::size_t n) noexcept;

class BufferCompressor {
 public:
  virtual ~BufferCompressor() = default;
  // Writes `in` (at most 16 MiB) to `out` as one complete zlib stream (2-byte header, deflate
  // with a final block, Adler-32) and returns its length. `out` must hold at least
  // zlib_compress_bound(in.size()) bytes (invalid_argument otherwise). The output depends only
  // on (engine, level, in). Level 0 writes stored blocks with zlib and libdeflate; ISA-L's
  // level 0 is its fastest coding level, not stored, and expands incompressible input by more
  // than 20% (measured: 64 KiB of random bytes to 80,683), so when an engine's output would not
  // fit the bound the compressor writes the input as stored blocks instead (store_zlib).
  virtual Result<std::size_t> compress_zlib(std::span<const std::byte> in,
                                            std::span<std::byte> out) = 0;
  virtual Engine engine() const noexcept = 0;
  virtual int level() const noexcept = 0;
};

// A compressor for `engine` at `level`; invalid_argument as make_chunk_deflater. One compressor
// serves one thread at a time and keeps its state between calls (no per-call allocation).
Result<std::unique_ptr<BufferCompressor>> make_buffer_compressor(Engine engine, int level);

// ---- (d) CRC-32 ----------------------------------------------------------------------------

// The CRC-32 of RFC 1952 (IEEE 802.3, reflected; zlib's crc32()) of `data` following bytes whose
// CRC is `crc` (0 to start): crc32(crc32(0, a), b) == crc32(0, a + b), and the result equals
// zlib's crc32(crc, data, size) for every engine. Uses ISA-L's carry-less-multiply code
// (crc32_gzip_refl) when compiled in, else libdeflate's, else zlib's: the first two run at
// several GB/s per core, zlib 1.2.13's table code at about 2 (bench/RESULTS.md).
std::uint32_t crc32(std::uint32_t crc, std::span<const std::byte> data) noexcept;

// ---- engine entry points (codec.cpp dispatches to these) -----------------------------------
namespace detail {
// The argument checks every BufferCompressor makes (sizes as compress_zlib() states).
Status check_compress_args(std::span<const std::byte> in, std::span<const std::byte> out);
// Writes `in` to `out` as a zlib stream of stored blocks (no compression); returns its length.
// `out` must have passed check_compress_args.
std::size_t store_zlib(std::span<const std::byte> in, std::span<std::byte> out) noexcept;
Result<std::unique_ptr<ChunkDeflater>> make_zlib_deflater(int level);
Result<std::unique_ptr<BufferCompressor>> make_zlib_compressor(int level);
Result<std::size_t> zlib_inflate(bool zlib_framed, std::span<const std::byte> in,
                                 std::span<std::byte> out);
#ifdef VDISK_HAVE_ISAL
Result<std::unique_ptr<ChunkDeflater>> make_isal_deflater(int level);
Result<std::unique_ptr<BufferCompressor>> make_isal_compressor(int level);
Result<std::size_t> isal_inflate(bool zlib_framed, std::span<const std::byte> in,
                                 std::span<std::byte> out);
std::uint32_t isal_crc32(std::uint32_t crc, std::span<const std::byte> data) noexcept;
#endif
#ifdef VDISK_HAVE_LIBDEFLATE
Result<std::unique_ptr<ChunkDeflater>> make_libdeflate_deflater(int level);
Result<std::unique_ptr<BufferCompressor>> make_libdeflate_compressor(int level);
Result<std::size_t> libdeflate_inflate(bool zlib_framed, std::span<const std::byte> in,
                                       std::span<std::byte> out);
std::uint32_t libdeflate_crc32(std::uint32_t crc, std::span<const std::byte> data) noexcept;
#endif
}  // namespace detail

}  // namespace vdisk::codec

#endif  // VDISK_CODEC_CODEC_H_
