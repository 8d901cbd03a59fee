// zlib engine for the codec interface (see codec.h).
#include <algorithm>

#include <fmt/format.h>
#include <zlib.h>

#include "codec/codec.h"

namespace vdisk::codec::detail {
namespace {

constexpr std::size_t kWindow = 32 * 1024;

Bytef* in_ptr(std::span<const std::byte> s) {
  // zlib's API takes non-const input pointers but never writes through them.
  return const_cast<Bytef*>(reinterpret_cast<const Bytef*>(s.data()));
}

class ZlibDeflater final : public ChunkDeflater {
 public:
  explicit ZlibDeflater(int level) : level_(level) {}
  ~ZlibDeflater() override {
    if (ok_) deflateEnd(&z_);
  }
  ZlibDeflater(const ZlibDeflater&) = delete;
  ZlibDeflater& operator=(const ZlibDeflater&) = delete;

  Status init() {
    // memLevel 8 (zlib's default): measured smaller than 9 at levels 4 and 9 on /usr binaries
    // (9's longer blocks adapt their Huffman codes less often; bench/RESULTS.md "GCP tarball").
    ok_ = deflateInit2(&z_, level_, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) == Z_OK;
    return ok_ ? Status() : internal_error("deflate: zlib deflateInit2 failed");
  }

  Status deflate_chunk(std::span<const std::byte> dict, std::span<const std::byte> input, bool last,
                       OutputBuffer& out) override {
    if (deflateReset(&z_) != Z_OK) return internal_error("deflate: zlib deflateReset failed");
    if (dict.size() > kWindow) dict = dict.last(kWindow);
    if (!dict.empty() &&
        deflateSetDictionary(&z_, in_ptr(dict), static_cast<uInt>(dict.size())) != Z_OK)
      return internal_error("deflate: zlib deflateSetDictionary failed");
    const std::size_t start = out.size();
    // The bound covers one sync flush too; grow if it ever does not.
    std::size_t cap = deflateBound(&z_, static_cast<uLong>(input.size())) + 16;
    out.resize(start + cap);
    z_.next_in = in_ptr(input);
    z_.avail_in = static_cast<uInt>(input.size());
    const int flush = last ? Z_FINISH : Z_SYNC_FLUSH;
    std::size_t used = 0;
    for (;;) {
      z_.next_out = reinterpret_cast<Bytef*>(out.data() + start + used);
      z_.avail_out = static_cast<uInt>(std::min<std::size_t>(cap - used, UINT32_MAX));
      const uInt before = z_.avail_out;
      const int rc = deflate(&z_, flush);
      used += before - z_.avail_out;
      if (rc == Z_STREAM_ERROR) return internal_error("deflate: zlib deflate failed");
      const bool complete = last ? rc == Z_STREAM_END : (z_.avail_in == 0 && z_.avail_out != 0);
      if (complete) break;
      cap *= 2;
      out.resize(start + cap);
    }
    out.resize(start + used);
    return {};
  }

  Engine engine() const noexcept override { return Engine::zlib; }
  int level() const noexcept override { return level_; }

 private:
  z_stream z_{};
  int level_;
  bool ok_ = false;
};

// Whole-buffer zlib streams (codec.h (c)): one z_stream, reset per buffer.
class ZlibCompressor final : public BufferCompressor {
 public:
  explicit ZlibCompressor(int level) : level_(level) {}
  ~ZlibCompressor() override {
    if (ok_) deflateEnd(&z_);
  }
  ZlibCompressor(const ZlibCompressor&) = delete;
  ZlibCompressor& operator=(const ZlibCompressor&) = delete;

  Status init() {
    ok_ = deflateInit2(&z_, level_, Z_DEFLATED, 15, 8, Z_DEFAULT_STRATEGY) == Z_OK;
    return ok_ ? Status() : internal_error("deflate: zlib deflateInit2 failed");
  }

  Result<std::size_t> compress_zlib(std::span<const std::byte> in,
                                    std::span<std::byte> out) override {
    VDISK_RETURN_IF_ERROR(check_compress_args(in, out));
    if (deflateReset(&z_) != Z_OK) return internal_error("deflate: zlib deflateReset failed");
    z_.next_in = in_ptr(in);
    z_.avail_in = static_cast<uInt>(in.size());
    z_.next_out = reinterpret_cast<Bytef*>(out.data());
    z_.avail_out = static_cast<uInt>(std::min<std::size_t>(out.size(), UINT32_MAX));
    if (deflate(&z_, Z_FINISH) != Z_STREAM_END)
      return internal_error("deflate: zlib deflate did not finish within its bound");
    return static_cast<std::size_t>(z_.total_out);
  }

  Engine engine() const noexcept override { return Engine::zlib; }
  int level() const noexcept override { return level_; }

 private:
  z_stream z_{};
  int level_;
  bool ok_ = false;
};

}  // namespace

Result<std::unique_ptr<BufferCompressor>> make_zlib_compressor(int level) {
  auto c = std::make_unique<ZlibCompressor>(level);
  VDISK_RETURN_IF_ERROR(c->init());
  return std::unique_ptr<BufferCompressor>(std::move(c));
}

Result<std::unique_ptr<ChunkDeflater>> make_zlib_deflater(int level) {
  auto d = std::make_unique<ZlibDeflater>(level);
  VDISK_RETURN_IF_ERROR(d->init());
  return std::unique_ptr<ChunkDeflater>(std::move(d));
}

Result<std::size_t> zlib_inflate(bool zlib_framed, std::span<const std::byte> in,
                                 std::span<std::byte> out) {
  z_stream z{};
  if ((zlib_framed ? inflateInit(&z) : inflateInit2(&z, -MAX_WBITS)) != Z_OK)
    return internal_error("inflate: zlib inflateInit failed");
  z.next_in = in_ptr(in);
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  int rc = inflate(&z, Z_FINISH);
  const std::size_t produced = out.size() - z.avail_out;
  bool overflow = false;
  if (rc != Z_STREAM_END && z.avail_out == 0 && rc != Z_DATA_ERROR && rc != Z_NEED_DICT) {
    // The output is full but the stream has not ended: see whether more would come.
    unsigned char extra = 0;
    z.next_out = &extra;
    z.avail_out = 1;
    rc = inflate(&z, Z_FINISH);
    overflow = z.avail_out == 0;
  }
  const char* msg = z.msg;
  std::string detail = msg ? msg : "";
  inflateEnd(&z);
  const char* kind = zlib_framed ? "zlib" : "raw deflate";
  if (overflow)
    return corrupt(
        fmt::format("inflate: {} stream inflates to more than {} bytes", kind, out.size()));
  if (rc == Z_NEED_DICT)
    return corrupt(fmt::format("inflate: {} stream needs a preset dictionary", kind));
  if (rc != Z_STREAM_END)
    return corrupt(fmt::format(
        "inflate: {} stream is {} after {} bytes out", kind,
        detail.empty() ? std::string("truncated") : "malformed (" + detail + ")", produced));
  return produced;
}

}  // namespace vdisk::codec::detail
