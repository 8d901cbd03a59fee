// What every cloud sink shares between its output, its writer and its upload threads: the
// UploadStats being built, the retry counter, and the rules for a reply that is not the one
// expected.
#ifndef VDISK_HTTP_UPLOAD_LEDGER_H_
#define VDISK_HTTP_UPLOAD_LEDGER_H_

#include <atomic>
#include <cstdint>
#include <mutex>
#include <stop_token>
#include <string>
#include <string_view>

#include "http/client.h"
#include "http/upload_pool.h"
#include "vdisk/cloud.h"

namespace vdisk::http {

class UploadLedger {
 public:
  // The stats so far, retries included.
  UploadStats snapshot() const;
  // One request accepted with a body of `bytes`.
  void sent(std::uint64_t bytes);
  // Changes the stats under the lock.
  template <class F>
  void update(F&& f) {
    std::lock_guard lock(mu_);
    f(stats_);
  }
  // `options` whose on_retry first counts the retry here.
  HttpOptions counting(HttpOptions options);

 private:
  mutable std::mutex mu_;
  UploadStats stats_;
  std::shared_ptr<std::atomic<std::uint64_t>> retries_ =
      std::make_shared<std::atomic<std::uint64_t>>(0);
};

// The Status for `response` when `expected` was wanted: 401/403 invalid_argument (with
// `auth_hint` appended), 404 not_found, 409/412 already_exists, anything else io_error; the
// message is describe_failure()'s line for `what`.
Status reply_status(std::string_view what, const Response& response, long expected,
                    std::string_view auth_hint);

// cancelled naming `what` when `stop` is triggered, else the pool's first error.
Status upload_failure(std::stop_token stop, UploadPool& pool, std::string_view what);

}  // namespace vdisk::http

#endif  // VDISK_HTTP_UPLOAD_LEDGER_H_
