// InputStream over file descriptors, prefix replay after probing, and read_full.
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "vdisk/io.h"

namespace vdisk {
namespace {

class FdStream final : public InputStream {
 public:
  FdStream(int fd, std::string name) : fd_(fd), name_(std::move(name)) {}
  Result<std::size_t> read(std::span<std::byte> dst) override {
    for (;;) {
      const ssize_t n = ::read(fd_, dst.data(), dst.size());
      if (n >= 0) return static_cast<std::size_t>(n);
      if (errno != EINTR) return errno_status(errno, name_, "read");
    }
  }
  const std::string& name() const override { return name_; }

 private:
  int fd_;
  std::string name_;
};

class PrefixedStream final : public InputStream {
 public:
  PrefixedStream(std::vector<std::byte> prefix, std::unique_ptr<InputStream> rest)
      : prefix_(std::move(prefix)), rest_(std::move(rest)) {}
  Result<std::size_t> read(std::span<std::byte> dst) override {
    if (pos_ < prefix_.size()) {
      const std::size_t n = std::min(dst.size(), prefix_.size() - pos_);
      std::memcpy(dst.data(), prefix_.data() + pos_, n);
      pos_ += n;
      return n;
    }
    return rest_->read(dst);
  }
  const std::string& name() const override { return rest_->name(); }

 private:
  std::vector<std::byte> prefix_;
  std::size_t pos_ = 0;
  std::unique_ptr<InputStream> rest_;
};

}  // namespace

Result<std::size_t> read_full(InputStream& in, std::span<std::byte> dst) {
  std::size_t done = 0;
  while (done < dst.size()) {
    VDISK_ASSIGN_OR_RETURN(const std::size_t n, in.read(dst.subspan(done)));
    if (n == 0) break;
    done += n;
  }
  return done;
}

std::unique_ptr<InputStream> fd_input_stream(int fd, std::string name) {
  return std::make_unique<FdStream>(fd, std::move(name));
}

std::unique_ptr<InputStream> prefixed_stream(std::vector<std::byte> prefix,
                                             std::unique_ptr<InputStream> rest) {
  return std::make_unique<PrefixedStream>(std::move(prefix), std::move(rest));
}

}  // namespace vdisk
