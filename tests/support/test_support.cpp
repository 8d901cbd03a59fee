#include "test_support.h"

#include <catch2/catch.hpp>

#include <unistd.h>
#include <zlib.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <stdexcept>

namespace vdisk::test {

std::vector<std::byte> bytes_of(std::string_view s) {
  std::vector<std::byte> out(s.size());
  std::memcpy(out.data(), s.data(), s.size());
  return out;
}

std::vector<std::byte> zlib_compress(std::span<const std::byte> in, int wbits) {
  z_stream z{};
  if (deflateInit2(&z, 6, Z_DEFLATED, wbits, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    throw std::runtime_error("deflateInit2 failed");
  std::vector<std::byte> out(deflateBound(&z, static_cast<uLong>(in.size())) + 32);
  z.next_in = const_cast<Bytef*>(reinterpret_cast<const Bytef*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  if (rc != Z_STREAM_END) throw std::runtime_error("deflate did not finish");
  return out;
}

std::vector<std::byte> pattern(std::size_t n, std::uint32_t seed) {
  std::vector<std::byte> out(n);
  std::uint64_t x = 0x9E3779B97F4A7C15ull ^ seed;
  for (std::size_t i = 0; i < n; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    out[i] = static_cast<std::byte>((x & 0xff) | ((i % 512) == 0 ? 1 : 0));
  }
  return out;
}

std::vector<std::byte> read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path.string());
  std::vector<char> chars((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::byte> out(chars.size());
  if (!chars.empty()) std::memcpy(out.data(), chars.data(), chars.size());
  return out;
}

void write_file(const std::filesystem::path& path, std::span<const std::byte> data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

int run(const std::string& command, std::string* out) {
  FILE* p = ::popen(command.c_str(), "r");
  if (!p) return -1;
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0)
    if (out) out->append(buf, n);
  const int status = ::pclose(p);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string sha256_file(const std::filesystem::path& path) {
  std::string out;
  if (run("sha256sum '" + path.string() + "'", &out) != 0 || out.size() < 64)
    throw std::runtime_error("sha256sum failed for " + path.string());
  return out.substr(0, 64);
}

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl = std::string(base && *base ? base : "/tmp") + "/vdisk-test-XXXXXX";
  if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

MemorySource::MemorySource(std::vector<std::byte> data, std::vector<Extent> map)
    : data_(std::move(data)), map_(std::move(map)) {
  if (map_.empty() && !data_.empty()) map_.push_back({0, data_.size(), ExtentKind::data});
}

Status MemorySource::read(std::uint64_t offset, std::span<std::byte> dst) const {
  const std::uint64_t n = ++reads_;
  if (fail_at_ != 0 && n == fail_at_) return io_error("memory: injected read failure");
  if (offset > data_.size() || dst.size() > data_.size() - offset)
    return out_of_range("memory: read past the end");
  std::memcpy(dst.data(), data_.data() + offset, dst.size());
  bytes_read_ += dst.size();
  return {};
}

Status MemorySource::map(std::uint64_t offset, std::uint64_t length,
                         std::vector<Extent>& out) const {
  const std::uint64_t end = offset + length;
  for (const Extent& e : map_) {
    const std::uint64_t s = std::max(e.offset, offset), t = std::min(e.end(), end);
    if (s < t) append_extent(out, {s, t - s, e.kind});
  }
  return {};
}

Status RecordingSink::next_call(std::uint64_t offset) {
  ++count_;
  if (fail_at_ != 0 && count_ == fail_at_) return no_space("recording: injected write failure");
  if (finished || offset != image.size()) order_violated = true;
  return {};
}

Status RecordingSink::write(std::uint64_t offset, std::span<const std::byte> data) {
  VDISK_RETURN_IF_ERROR(next_call(offset));
  image.insert(image.end(), data.begin(), data.end());
  append_extent(calls, {offset, data.size(), ExtentKind::data});
  return {};
}

Status RecordingSink::write_zeroes(std::uint64_t offset, std::uint64_t length) {
  VDISK_RETURN_IF_ERROR(next_call(offset));
  image.resize(image.size() + length);
  append_extent(calls, {offset, length, ExtentKind::zero});
  return {};
}

Status RecordingSink::finish() {
  if (finished) order_violated = true;
  finished = true;
  return {};
}

std::vector<std::byte> read_disk(const BlockSource& s) {
  std::vector<std::byte> out(static_cast<std::size_t>(s.size()));
  const Status st = s.read(0, out);
  INFO(st.to_string());
  REQUIRE(st.ok());
  return out;
}

std::vector<Extent> map_disk(const BlockSource& s) {
  std::vector<Extent> out;
  const Status st = s.map(0, s.size(), out);
  INFO(st.to_string());
  REQUIRE(st.ok());
  return out;
}

std::unique_ptr<BlockSource> open_memory(std::vector<std::byte> bytes, const OpenOptions& o,
                                         const std::string& name) {
  auto r = open_image(memory_file(std::move(bytes), name), {}, o);
  INFO(r.status().to_string());
  REQUIRE(r.ok());
  return std::move(*r);
}

}  // namespace vdisk::test
