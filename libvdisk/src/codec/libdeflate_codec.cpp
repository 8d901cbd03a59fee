// libdeflate engine for the codec interface (see codec.h). Compiled only with
// VDISK_HAVE_LIBDEFLATE.
//
// libdeflate compresses whole buffers only: it cannot be primed with a dictionary and always
// ends its output with a final block (BFINAL set) padded to a byte. To make a chunk that can be
// followed by another, the deflater walks its own output once with zlib's inflate (Z_BLOCK stops
// at every block boundary and reports the bit position), clears the BFINAL bit of the last block
// and appends an empty non-final stored block, which ends the chunk byte-aligned exactly as a
// sync flush does. The walk also checks that the output inflates to exactly the input length.
#include <algorithm>
#include <limits>

#include <fmt/format.h>
#include <libdeflate.h>
#include <zlib.h>

#include "codec/codec.h"

namespace vdisk::codec::detail {
namespace {

constexpr std::size_t kScratch = 256 * 1024;

struct CompressorFree {
  void operator()(libdeflate_compressor* c) const { libdeflate_free_compressor(c); }
};
struct DecompressorFree {
  void operator()(libdeflate_decompressor* d) const { libdeflate_free_decompressor(d); }
};

// Bit positions in a raw deflate buffer, counted from bit 0 of byte 0 (LSB first).
struct Blocks {
  std::uint64_t last_start = 0;  // the header of the final block
  std::uint64_t end = 0;         // just past the final block's end-of-block code
};

// Walks `in` (one complete raw deflate stream) block by block. Errors are internal: `in` came
// from libdeflate a moment ago.
Result<Blocks> find_final_block(std::span<const std::byte> in, std::size_t expect_out,
                                std::vector<std::byte>& scratch) {
  z_stream z{};
  if (inflateInit2(&z, -15) != Z_OK) return internal_error("deflate: zlib inflateInit2 failed");
  scratch.resize(kScratch);
  z.next_in = const_cast<Bytef*>(reinterpret_cast<const Bytef*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  Blocks b;
  bool found = false;
  std::uint64_t boundary = 0;  // bit position of the latest block boundary
  int rc = Z_OK;
  for (;;) {
    z.next_out = reinterpret_cast<Bytef*>(scratch.data());
    z.avail_out = static_cast<uInt>(scratch.size());
    rc = inflate(&z, Z_BLOCK);
    if (rc == Z_STREAM_END || (rc != Z_OK && rc != Z_BUF_ERROR)) break;
    // data_type: bit 7 = stopped at a block boundary, bit 6 = in (or just after) the final
    // block, bits 0-2 = unused bits of the last input byte.
    if (z.data_type & 128) {
      const std::uint64_t at = std::uint64_t{z.total_in} * 8 - (z.data_type & 7);
      if (z.data_type & 64) {
        b.last_start = boundary;
        b.end = at;
        found = true;
      }
      boundary = at;
    }
    if (rc == Z_BUF_ERROR && z.avail_in == 0) break;
  }
  const std::uint64_t out = z.total_out, used = z.total_in;
  inflateEnd(&z);
  if (rc != Z_STREAM_END || !found || out != expect_out || used != in.size() ||
      (b.end + 7) / 8 != in.size())
    return internal_error(fmt::format(
        "deflate: libdeflate output of {} bytes does not walk back to {} bytes (zlib rc {}, "
        "{} bytes out, {} in)",
        in.size(), expect_out, rc, out, used));
  return b;
}

class LibdeflateDeflater final : public ChunkDeflater {
 public:
  explicit LibdeflateDeflater(int level) : level_(level) {}

  Status init() {
    c_.reset(libdeflate_alloc_compressor(level_));
    return c_ ? Status() : internal_error("deflate: libdeflate_alloc_compressor failed");
  }

  Status deflate_chunk(std::span<const std::byte> /*dict*/, std::span<const std::byte> input,
                       bool last, OutputBuffer& out) override {
    if (input.size() > std::numeric_limits<std::uint32_t>::max() / 2)
      return invalid_argument(
          fmt::format("deflate: libdeflate chunk of {} bytes is above 2 GiB", input.size()));
    const std::size_t start = out.size();
    if (input.empty() && !last) {
      // Nothing to compress: the sync flush alone (an empty non-final stored block).
      out.insert(out.end(),
                 {std::byte{0}, std::byte{0}, std::byte{0}, std::byte{0xff}, std::byte{0xff}});
      return {};
    }
    const std::size_t cap = libdeflate_deflate_compress_bound(c_.get(), input.size());
    out.resize(start + cap + 5);
    const std::size_t n =
        libdeflate_deflate_compress(c_.get(), input.data(), input.size(), out.data() + start, cap);
    if (n == 0) return internal_error("deflate: libdeflate_deflate_compress found no room");
    out.resize(start + n);
    if (last) return {};
    VDISK_ASSIGN_OR_RETURN(const Blocks b,
                           find_final_block(std::span(out).subspan(start), input.size(), scratch_));
    std::byte& header = out[start + b.last_start / 8];
    header &= ~std::byte(1u << (b.last_start % 8));  // BFINAL = 0
    // The empty stored block: 3 header bits (all zero) after the final block's end, padding to
    // the byte, LEN 0000, NLEN ffff. The header bits fit in the last byte's zero padding when at
    // least 3 bits are free; otherwise they spill into one more zero byte.
    const unsigned free_bits = static_cast<unsigned>((8 - b.end % 8) % 8);
    if (free_bits < 3) out.push_back(std::byte{0});
    out.insert(out.end(), {std::byte{0}, std::byte{0}, std::byte{0xff}, std::byte{0xff}});
    return {};
  }

  Engine engine() const noexcept override { return Engine::libdeflate; }
  int level() const noexcept override { return level_; }

 private:
  int level_;
  std::unique_ptr<libdeflate_compressor, CompressorFree> c_;
  std::vector<std::byte> scratch_;
};

// Whole-buffer zlib streams (codec.h (c)): libdeflate_zlib_compress, one compressor reused.
class LibdeflateCompressor final : public BufferCompressor {
 public:
  explicit LibdeflateCompressor(int level) : level_(level) {}

  Status init() {
    c_.reset(libdeflate_alloc_compressor(level_));
    return c_ ? Status() : internal_error("deflate: libdeflate_alloc_compressor failed");
  }

  Result<std::size_t> compress_zlib(std::span<const std::byte> in,
                                    std::span<std::byte> out) override {
    VDISK_RETURN_IF_ERROR(check_compress_args(in, out));
    const std::size_t n =
        libdeflate_zlib_compress(c_.get(), in.data(), in.size(), out.data(), out.size());
    if (n == 0) return internal_error("deflate: libdeflate_zlib_compress found no room");
    return n;
  }

  Engine engine() const noexcept override { return Engine::libdeflate; }
  int level() const noexcept override { return level_; }

 private:
  int level_;
  std::unique_ptr<libdeflate_compressor, CompressorFree> c_;
};

}  // namespace

Result<std::unique_ptr<BufferCompressor>> make_libdeflate_compressor(int level) {
  auto c = std::make_unique<LibdeflateCompressor>(level);
  VDISK_RETURN_IF_ERROR(c->init());
  return std::unique_ptr<BufferCompressor>(std::move(c));
}

Result<std::unique_ptr<ChunkDeflater>> make_libdeflate_deflater(int level) {
  auto d = std::make_unique<LibdeflateDeflater>(level);
  VDISK_RETURN_IF_ERROR(d->init());
  return std::unique_ptr<ChunkDeflater>(std::move(d));
}

Result<std::size_t> libdeflate_inflate(bool zlib_framed, std::span<const std::byte> in,
                                       std::span<std::byte> out) {
  thread_local std::unique_ptr<libdeflate_decompressor, DecompressorFree> state;
  if (!state) state.reset(libdeflate_alloc_decompressor());
  if (!state) return internal_error("inflate: libdeflate_alloc_decompressor failed");
  const char* kind = zlib_framed ? "zlib" : "raw deflate";
  // libdeflate has no preset dictionaries; say so as the other engines do (FDICT flag).
  if (zlib_framed && in.size() >= 2 && (std::to_integer<unsigned>(in[1]) & 0x20))
    return corrupt(fmt::format("inflate: {} stream needs a preset dictionary", kind));
  std::size_t in_used = 0, produced = 0;
  const auto rc =
      zlib_framed ? libdeflate_zlib_decompress_ex(state.get(), in.data(), in.size(), out.data(),
                                                  out.size(), &in_used, &produced)
                  : libdeflate_deflate_decompress_ex(state.get(), in.data(), in.size(), out.data(),
                                                     out.size(), &in_used, &produced);
  if (rc == LIBDEFLATE_INSUFFICIENT_SPACE)
    return corrupt(
        fmt::format("inflate: {} stream inflates to more than {} bytes", kind, out.size()));
  if (rc != LIBDEFLATE_SUCCESS)
    return corrupt(fmt::format("inflate: {} stream is malformed or truncated (libdeflate)", kind));
  return produced;
}

std::uint32_t libdeflate_crc32(std::uint32_t crc, std::span<const std::byte> data) noexcept {
  return ::libdeflate_crc32(crc, data.data(), data.size());
}

}  // namespace vdisk::codec::detail
