// Compressed clusters (qemu docs/interop/qcow2.txt "Compressed Clusters Descriptor";
// docs/qcow2.md): zlib clusters are raw deflate without a zlib header, zstd clusters are zstd
// frames. Both are decoded until exactly one cluster is out; the window read for a cluster is
// rounded to sectors and usually holds the start of the next cluster's stream, which is ignored.
#include <zstd.h>

#include <memory>

#include <fmt/format.h>

#include "codec/codec.h"
#include "formats/qcow2/qcow2_reader.h"

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

// qemu compresses each cluster into one zstd frame; the sector-rounded window also holds the
// start of the next cluster's stream. Frames are decoded one by one until the cluster is full
// (a writer may split a cluster into several). Each frame is measured first
// (ZSTD_findFrameCompressedSize walks its block headers inside the window) and decoded in one
// pass straight into the rest of `out`: the single-pass decoder uses the output as its window,
// so no frame can make it allocate, and a frame that would decode past the cluster is an error.
Status inflate_zstd(std::span<const std::byte> in, std::span<std::byte> out,
                    std::uint64_t host_offset) {
  thread_local std::unique_ptr<ZSTD_DCtx, DctxFree> ctx(ZSTD_createDCtx());
  if (!ctx) return resource_exhausted("qcow2: zstd: cannot allocate a decoder");
  std::size_t used = 0, done = 0;
  while (done < out.size()) {
    const std::size_t frame = ZSTD_findFrameCompressedSize(in.data() + used, in.size() - used);
    if (ZSTD_isError(frame))
      return cluster_error(
          host_offset, fmt::format("zstd frame expected at byte {} of the {}-byte compressed "
                                   "window after {} of {} bytes out, found none ({})",
                                   used, in.size(), done, out.size(), ZSTD_getErrorName(frame)));
    const std::size_t n = ZSTD_decompressDCtx(ctx.get(), out.data() + done, out.size() - done,
                                              in.data() + used, frame);
    if (ZSTD_isError(n))
      return cluster_error(host_offset,
                           fmt::format("zstd frame at byte {} is malformed or decodes past the "
                                       "{}-byte cluster ({})",
                                       used, out.size(), ZSTD_getErrorName(n)));
    used += frame;
    done += n;
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
