// See upload_ledger.h.
#include "http/upload_ledger.h"

#include <fmt/format.h>

namespace vdisk::http {

UploadStats UploadLedger::snapshot() const {
  std::lock_guard lock(mu_);
  UploadStats s = stats_;
  s.retries = retries_->load();
  return s;
}

void UploadLedger::sent(std::uint64_t bytes) {
  std::lock_guard lock(mu_);
  stats_.requests++;
  stats_.bytes_sent += bytes;
}

HttpOptions UploadLedger::counting(HttpOptions options) {
  auto user = options.on_retry;
  options.on_retry = [user, retries = retries_](std::string_view line) {
    retries->fetch_add(1, std::memory_order_relaxed);
    if (user) user(line);
  };
  return options;
}

Status reply_status(std::string_view what, const Response& response, long expected,
                    std::string_view auth_hint) {
  if (response.status == expected) return {};
  const Request request{"", "", {}, {}, std::string(what)};
  const std::string line = describe_failure(request, response);
  switch (response.status) {
    case 401:
    case 403:
      return invalid_argument(fmt::format("{} ({})", line, auth_hint));
    case 404:
      return not_found(line);
    case 409:
    case 412:
      return already_exists(line);
    default:
      return io_error(line);
  }
}

Status upload_failure(std::stop_token stop, UploadPool& pool, std::string_view what) {
  if (stop.stop_requested()) return cancelled(fmt::format("{} cancelled", what));
  return pool.error();
}

}  // namespace vdisk::http
