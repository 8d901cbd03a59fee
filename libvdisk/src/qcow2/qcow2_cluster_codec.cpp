// Compressed clusters (qemu docs/interop/qcow2.txt "Compressed Clusters Descriptor";
// docs/qcow2.md): zlib clusters are raw deflate without a zlib header, zstd clusters are zstd
// frames. Both are decoded until exactly one cluster is out; the window read for a cluster is
// rounded to sectors and usually holds the start of the next cluster's stream, which is ignored.
#include <zstd.h>

#include <memory>

#include <fmt/format.h>

#include "codec/codec.h"
#include "qcow2/qcow2_reader.h"

namespace vdisk::qcow2 {
namespace {

Status cluster_error(std::uint64_t host_offset, std::string_view detail) {
  return corrupt_at(kFormat, "compressed cluster", host_offset, detail);
}

Status inflate_zlib(std::span<const std::byte> in, std::span<std::byte> out,
                    std::uint64_t host_offset) {
  auto n = codec::inflate_raw(in, out);
  if (!n.ok()) return cluster_error(host_offset, n.status().message());
  if (*n != out.size())
    return cluster_error(host_offset, fmt::format("raw deflate stream expected to inflate to {} "
                                                  "bytes, found {}",
                                                  out.size(), *n));
  return {};
}

struct DctxFree {
  void operator()(ZSTD_DCtx* c) const { ZSTD_freeDCtx(c); }
};

Status inflate_zstd(std::span<const std::byte> in, std::span<std::byte> out,
                    std::uint64_t host_offset) {
  // One decoder per thread, reset for each cluster.
  thread_local std::unique_ptr<ZSTD_DCtx, DctxFree> ctx = [] {
    std::unique_ptr<ZSTD_DCtx, DctxFree> c(ZSTD_createDCtx());
    // A cluster is at most 2 MiB, so no honest frame needs a larger window; a hostile frame
    // cannot make the decoder allocate more.
    if (c) ZSTD_DCtx_setParameter(c.get(), ZSTD_d_windowLogMax, kMaxClusterBits + 1);
    return c;
  }();
  if (!ctx) return resource_exhausted("qcow2: zstd: cannot allocate a decoder");
  ZSTD_DCtx_reset(ctx.get(), ZSTD_reset_session_only);
  ZSTD_inBuffer src{in.data(), in.size(), 0};
  ZSTD_outBuffer dst{out.data(), out.size(), 0};
  while (dst.pos < dst.size) {
    const std::size_t before_in = src.pos, before_out = dst.pos;
    const std::size_t rc = ZSTD_decompressStream(ctx.get(), &dst, &src);
    if (ZSTD_isError(rc))
      return cluster_error(host_offset, fmt::format("zstd stream is malformed ({}) after {} "
                                                    "bytes out",
                                                    ZSTD_getErrorName(rc), dst.pos));
    if (dst.pos < dst.size && src.pos == before_in && dst.pos == before_out)
      return cluster_error(host_offset,
                           fmt::format("zstd stream expected to decode to {} bytes, found {} "
                                       "(truncated)",
                                       out.size(), dst.pos));
  }
  return {};
}

}  // namespace

Status decompress_cluster(Compression type, std::span<const std::byte> in, std::span<std::byte> out,
                          std::uint64_t host_offset) {
  if (type == Compression::zstd) return inflate_zstd(in, out, host_offset);
  return inflate_zlib(in, out, host_offset);
}

}  // namespace vdisk::qcow2
