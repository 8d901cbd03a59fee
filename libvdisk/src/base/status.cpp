#include "vdisk/status.h"

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace vdisk {

std::string_view errc_name(Errc code) noexcept {
  switch (code) {
    case Errc::ok:
      return "ok";
    case Errc::invalid_argument:
      return "invalid_argument";
    case Errc::not_found:
      return "not_found";
    case Errc::already_exists:
      return "already_exists";
    case Errc::io_error:
      return "io_error";
    case Errc::no_space:
      return "no_space";
    case Errc::corrupt:
      return "corrupt";
    case Errc::unsupported:
      return "unsupported";
    case Errc::out_of_range:
      return "out_of_range";
    case Errc::cancelled:
      return "cancelled";
    case Errc::resource_exhausted:
      return "resource_exhausted";
    case Errc::internal:
      return "internal";
  }
  return "unknown";
}

std::string Status::to_string() const {
  if (ok()) return "ok";
  return fmt::format("{}: {}", errc_name(code_), message_);
}

Status Status::with_context(std::string_view context) const {
  if (ok()) return *this;
  return Status(code_, fmt::format("{}: {}", context, message_));
}

Status invalid_argument(std::string m) { return {Errc::invalid_argument, std::move(m)}; }
Status not_found(std::string m) { return {Errc::not_found, std::move(m)}; }
Status already_exists(std::string m) { return {Errc::already_exists, std::move(m)}; }
Status io_error(std::string m) { return {Errc::io_error, std::move(m)}; }
Status no_space(std::string m) { return {Errc::no_space, std::move(m)}; }
Status corrupt(std::string m) { return {Errc::corrupt, std::move(m)}; }
Status unsupported(std::string m) { return {Errc::unsupported, std::move(m)}; }
Status out_of_range(std::string m) { return {Errc::out_of_range, std::move(m)}; }
Status cancelled(std::string m) { return {Errc::cancelled, std::move(m)}; }
Status resource_exhausted(std::string m) { return {Errc::resource_exhausted, std::move(m)}; }
Status internal_error(std::string m) { return {Errc::internal, std::move(m)}; }

Status corrupt_at(std::string_view format, std::string_view structure, std::uint64_t offset,
                  std::string_view detail) {
  return corrupt(fmt::format("{}: {} at offset {}: {}", format, structure, offset, detail));
}

Status errno_status(int err, std::string_view what, std::string_view operation) {
  std::string msg = fmt::format("{}: {}: {}", what, operation, std::strerror(err));
  switch (err) {
    case ENOENT:
      return not_found(std::move(msg));
    case EEXIST:
      return already_exists(std::move(msg));
    case ENOSPC:
    case EDQUOT:
    case EFBIG:
      return no_space(std::move(msg));
    default:
      return io_error(std::move(msg));
  }
}

}  // namespace vdisk
