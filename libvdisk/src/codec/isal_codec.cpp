// ISA-L engine for the codec interface (see codec.h). Compiled only with VDISK_HAVE_ISAL.
#include <algorithm>
#include <memory>

#include <fmt/format.h>
#include <isa-l/crc.h>
#include <isa-l/igzip_lib.h>

#include "codec/codec.h"

namespace vdisk::codec::detail {
namespace {

constexpr std::size_t kWindow = 32 * 1024;

std::uint8_t* in_ptr(std::span<const std::byte> s) {
  // ISA-L's API takes non-const input pointers but never writes through them.
  return const_cast<std::uint8_t*>(reinterpret_cast<const std::uint8_t*>(s.data()));
}

std::size_t level_buf_size(int level) {
  switch (level) {
    case 1:
      return ISAL_DEF_LVL1_DEFAULT;
    case 2:
      return ISAL_DEF_LVL2_DEFAULT;
    case 3:
      return ISAL_DEF_LVL3_DEFAULT;
    default:
      return 0;
  }
}

class IsalDeflater final : public ChunkDeflater {
 public:
  explicit IsalDeflater(int level)
      : level_(level),
        stream_(std::make_unique<isal_zstream>()),
        level_buf_(level_buf_size(level)) {}

  Status deflate_chunk(std::span<const std::byte> dict, std::span<const std::byte> input, bool last,
                       OutputBuffer& out) override {
    isal_zstream& s = *stream_;
    // A full init per chunk: no hash entries or history survive from the previous chunk, so the
    // output depends only on this call's arguments.
    isal_deflate_init(&s);
    s.level = static_cast<std::uint32_t>(level_);
    s.level_buf = level_buf_.empty() ? nullptr : level_buf_.data();
    s.level_buf_size = static_cast<std::uint32_t>(level_buf_.size());
    s.gzip_flag = IGZIP_DEFLATE;
    s.hist_bits = 0;
    if (dict.size() > kWindow) dict = dict.last(kWindow);
    if (!dict.empty() &&
        isal_deflate_set_dict(&s, in_ptr(dict), static_cast<std::uint32_t>(dict.size())) != COMP_OK)
      return internal_error("deflate: isa-l isal_deflate_set_dict failed");
    s.next_in = in_ptr(input);
    s.avail_in = static_cast<std::uint32_t>(input.size());
    s.end_of_stream = last ? 1 : 0;
    s.flush = last ? NO_FLUSH : SYNC_FLUSH;
    const std::size_t start = out.size();
    // Worst case: stored blocks (5 bytes per 64 KiB) plus a header and a flush.
    std::size_t cap = input.size() + input.size() / 8192 + 1024;
    out.resize(start + cap);
    std::size_t used = 0;
    for (;;) {
      s.next_out = reinterpret_cast<std::uint8_t*>(out.data() + start + used);
      s.avail_out = static_cast<std::uint32_t>(std::min<std::size_t>(cap - used, UINT32_MAX));
      const std::uint32_t before = s.avail_out;
      const int rc = isal_deflate(&s);
      used += before - s.avail_out;
      if (rc != COMP_OK)
        return internal_error(fmt::format("deflate: isa-l isal_deflate failed ({})", rc));
      const bool complete =
          s.avail_in == 0 && s.avail_out != 0 &&
          (last ? s.internal_state.state == ZSTATE_END : s.internal_state.state == ZSTATE_NEW_HDR);
      if (complete) break;
      cap *= 2;
      out.resize(start + cap);
    }
    out.resize(start + used);
    return {};
  }

  Engine engine() const noexcept override { return Engine::isal; }
  int level() const noexcept override { return level_; }

 private:
  int level_;
  std::unique_ptr<isal_zstream> stream_;
  std::vector<std::uint8_t> level_buf_;
};

// Whole-buffer zlib streams (codec.h (c)): a stateful ISA-L stream with zlib framing, fully
// initialised per buffer.
class IsalCompressor final : public BufferCompressor {
 public:
  explicit IsalCompressor(int level)
      : level_(level),
        stream_(std::make_unique<isal_zstream>()),
        level_buf_(level_buf_size(level)) {}

  Result<std::size_t> compress_zlib(std::span<const std::byte> in,
                                    std::span<std::byte> out) override {
    VDISK_RETURN_IF_ERROR(check_compress_args(in, out));
    isal_zstream& s = *stream_;
    isal_deflate_init(&s);
    s.level = static_cast<std::uint32_t>(level_);
    s.level_buf = level_buf_.empty() ? nullptr : level_buf_.data();
    s.level_buf_size = static_cast<std::uint32_t>(level_buf_.size());
    s.gzip_flag = IGZIP_ZLIB;
    s.next_in = in_ptr(in);
    s.avail_in = static_cast<std::uint32_t>(in.size());
    s.end_of_stream = 1;
    s.flush = NO_FLUSH;
    s.next_out = reinterpret_cast<std::uint8_t*>(out.data());
    s.avail_out = static_cast<std::uint32_t>(std::min<std::size_t>(out.size(), UINT32_MAX));
    // One call normally finishes; level 0 may stop between its internal blocks, so call again
    // while it makes progress.
    int rc = COMP_OK;
    for (;;) {
      const std::uint32_t in_before = s.avail_in, out_before = s.avail_out;
      rc = isal_deflate(&s);
      if (rc != COMP_OK || s.internal_state.state == ZSTATE_END) break;
      if (s.avail_in == in_before && s.avail_out == out_before) break;
    }
    // Out of room (level 0 on incompressible input): stored blocks fit (codec.h).
    if (rc == COMP_OK && s.internal_state.state != ZSTATE_END && s.avail_out == 0)
      return store_zlib(in, out);
    if (rc != COMP_OK || s.internal_state.state != ZSTATE_END)
      return internal_error(fmt::format(
          "deflate: isa-l isal_deflate did not finish within its bound ({}, state {}, {} in left, "
          "{} out left)",
          rc, static_cast<int>(s.internal_state.state), s.avail_in, s.avail_out));
    return static_cast<std::size_t>(s.total_out);
  }

  Engine engine() const noexcept override { return Engine::isal; }
  int level() const noexcept override { return level_; }

 private:
  int level_;
  std::unique_ptr<isal_zstream> stream_;
  std::vector<std::uint8_t> level_buf_;
};

}  // namespace

Result<std::unique_ptr<BufferCompressor>> make_isal_compressor(int level) {
  return std::unique_ptr<BufferCompressor>(std::make_unique<IsalCompressor>(level));
}

Result<std::unique_ptr<ChunkDeflater>> make_isal_deflater(int level) {
  return std::unique_ptr<ChunkDeflater>(std::make_unique<IsalDeflater>(level));
}

Result<std::size_t> isal_inflate(bool zlib_framed, std::span<const std::byte> in,
                                 std::span<std::byte> out) {
  // The decoder state is large (tens of KiB): one per thread, reused.
  thread_local std::unique_ptr<inflate_state> state;
  if (!state) state = std::make_unique<inflate_state>();
  inflate_state& st = *state;
  isal_inflate_init(&st);
  st.next_in = in_ptr(in);
  st.avail_in = static_cast<std::uint32_t>(in.size());
  st.next_out = reinterpret_cast<std::uint8_t*>(out.data());
  st.avail_out = static_cast<std::uint32_t>(out.size());
  st.crc_flag = zlib_framed ? ISAL_ZLIB : ISAL_DEFLATE;
  const int rc = isal_inflate_stateless(&st);
  const std::size_t produced = out.size() - st.avail_out;
  const char* kind = zlib_framed ? "zlib" : "raw deflate";
  if (rc == ISAL_OUT_OVERFLOW)
    return corrupt(
        fmt::format("inflate: {} stream inflates to more than {} bytes", kind, out.size()));
  if (rc == ISAL_NEED_DICT)
    return corrupt(fmt::format("inflate: {} stream needs a preset dictionary", kind));
  if (rc == ISAL_INCORRECT_CHECKSUM)
    return corrupt(fmt::format("inflate: {} stream has an incorrect check value", kind));
  if (rc == ISAL_END_INPUT || (rc == ISAL_DECOMP_OK && st.block_state != ISAL_BLOCK_FINISH))
    return corrupt(
        fmt::format("inflate: {} stream is truncated after {} bytes out", kind, produced));
  if (rc != ISAL_DECOMP_OK)
    return corrupt(fmt::format(
        "inflate: {} stream is malformed (isa-l error {}) after {} bytes out", kind, rc, produced));
  return produced;
}

std::uint32_t isal_crc32(std::uint32_t crc, std::span<const std::byte> data) noexcept {
  // crc32_gzip_refl takes and returns the running CRC as zlib does (the inversions are inside).
  return crc32_gzip_refl(crc, reinterpret_cast<const unsigned char*>(data.data()), data.size());
}

}  // namespace vdisk::codec::detail
