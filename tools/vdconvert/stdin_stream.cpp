#include "stdin_stream.h"

#include <poll.h>
#include <unistd.h>

#include <cerrno>

namespace vdconvert {
namespace {

// How long one poll() waits before looking at the stop token again.
constexpr int kPollSliceMs = 100;

class CancellableFdStream final : public vdisk::InputStream {
 public:
  CancellableFdStream(int fd, std::string name, std::stop_token stop)
      : fd_(fd), name_(std::move(name)), stop_(std::move(stop)) {}

  vdisk::Result<std::size_t> read(std::span<std::byte> dst) override {
    for (;;) {
      if (stop_.stop_requested()) return vdisk::cancelled(name_ + ": interrupted");
      pollfd pfd{fd_, POLLIN, 0};
      const int ready = ::poll(&pfd, 1, kPollSliceMs);
      if (ready < 0) {
        if (errno == EINTR) continue;
        return vdisk::errno_status(errno, name_, "poll");
      }
      if (ready == 0) continue;
      // POLLIN, POLLHUP (end of a pipe) or POLLERR: read() tells which.
      const ssize_t n = ::read(fd_, dst.data(), dst.size());
      if (n >= 0) return static_cast<std::size_t>(n);
      if (errno == EINTR || errno == EAGAIN) continue;
      return vdisk::errno_status(errno, name_, "read");
    }
  }
  const std::string& name() const override { return name_; }

 private:
  int fd_;
  std::string name_;
  std::stop_token stop_;
};

}  // namespace

std::unique_ptr<vdisk::InputStream> cancellable_fd_stream(int fd, std::string name,
                                                          std::stop_token stop) {
  return std::make_unique<CancellableFdStream>(fd, std::move(name), std::move(stop));
}

}  // namespace vdconvert
