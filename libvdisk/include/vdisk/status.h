// Status and Result<T>: how every libvdisk function reports failure.
//
// libvdisk never throws on purpose, never prints and never exits. A function that can fail
// returns a Status (no value) or a Result<T> (a value or a non-ok Status). Both are
// [[nodiscard]]. The only exception that may escape the library is std::bad_alloc; every size
// taken from an image is bounded before it is used to allocate.
//
// Messages are one line and name the format, the structure, the file offset, and what was
// expected versus found, e.g.
//   "vhd: footer at offset 1048576: checksum expected 0xffffeda3, found 0x00000000".
#ifndef VDISK_STATUS_H_
#define VDISK_STATUS_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>

namespace vdisk {

// Error codes. Callers (and vdconvert's exit codes) act on the code; the message is for humans.
enum class Errc : std::uint8_t {
  ok = 0,
  invalid_argument,    // the caller asked for something malformed (bad option, bad size)
  not_found,           // a named file or entry does not exist
  already_exists,      // refusing to replace an existing output without permission
  io_error,            // the operating system reported a read/write failure
  no_space,            // the output device is full (ENOSPC, EDQUOT, EFBIG)
  corrupt,             // the image breaks its format's rules (truncated, bad checksum, loops)
                       // or links a file the directory rule refuses (OpenOptions)
  unsupported,         // a valid image uses a feature libvdisk does not implement
  out_of_range,        // a read or size past an object's end
  cancelled,           // the caller's stop token was triggered
  resource_exhausted,  // a configured bound (memory, depth, entry count) would be exceeded
  internal,            // a libvdisk bug: an invariant did not hold
};

// Short lowercase name of a code ("corrupt", "io_error", ...).
std::string_view errc_name(Errc code) noexcept;

class [[nodiscard]] Status {
 public:
  // The default Status is ok.
  Status() noexcept = default;
  // A status with the given code. `code` must not be Errc::ok when `message` is non-empty.
  Status(Errc code, std::string message) : code_(code), message_(std::move(message)) {}

  bool ok() const noexcept { return code_ == Errc::ok; }
  Errc code() const noexcept { return code_; }
  const std::string& message() const noexcept { return message_; }
  // "ok", or "<code name>: <message>".
  std::string to_string() const;

  // Returns a copy with `context` prepended to the message ("context: message"); ok stays ok.
  Status with_context(std::string_view context) const;

 private:
  Errc code_ = Errc::ok;
  std::string message_;
};

inline Status ok_status() { return Status(); }

// Factories. `message` should already name the format and structure.
Status invalid_argument(std::string message);
Status not_found(std::string message);
Status already_exists(std::string message);
Status io_error(std::string message);
Status no_space(std::string message);
Status corrupt(std::string message);
Status unsupported(std::string message);
Status out_of_range(std::string message);
Status cancelled(std::string message);
Status resource_exhausted(std::string message);
Status internal_error(std::string message);

// "<format>: <structure> at offset <offset>: <detail>", code corrupt.
Status corrupt_at(std::string_view format, std::string_view structure, std::uint64_t offset,
                  std::string_view detail);

// Maps an errno value from a failed call on `what` (usually a path) to io_error / no_space /
// not_found / already_exists, with strerror text: "<what>: <operation>: <strerror>".
Status errno_status(int err, std::string_view what, std::string_view operation);

// Result<T>: either a T or a non-ok Status. Constructing a Result from an ok Status is a bug and
// yields Errc::internal.
template <class T>
class [[nodiscard]] Result {
  static_assert(!std::is_same_v<std::remove_cvref_t<T>, Status>, "Result<Status> is meaningless");

 public:
  Result(T value) : v_(std::in_place_index<1>, std::move(value)) {}        // NOLINT(implicit)
  Result(Status status) : v_(std::in_place_index<0>, std::move(status)) {  // NOLINT(implicit)
    if (std::get<0>(v_).ok()) v_.template emplace<0>(Errc::internal, "Result built from ok");
  }
  template <class U>
  requires(std::is_constructible_v<T, U&&> && !std::is_same_v<std::remove_cvref_t<U>, T> &&
           !std::is_same_v<std::remove_cvref_t<U>, Status>) Result(U&& value)
      : v_(std::in_place_index<1>, std::forward<U>(value)) {}  // NOLINT(implicit)

  bool ok() const noexcept { return v_.index() == 1; }
  // The error; an ok Status when the Result holds a value.
  Status status() const& { return ok() ? Status() : std::get<0>(v_); }
  Status status() && { return ok() ? Status() : std::move(std::get<0>(v_)); }

  // Access to the value. Calling these on an error Result is undefined behaviour.
  T& value() & { return std::get<1>(v_); }
  const T& value() const& { return std::get<1>(v_); }
  T&& value() && { return std::move(std::get<1>(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<Status, T> v_;
};

}  // namespace vdisk

#define VDISK_CONCAT_INNER_(a, b) a##b
#define VDISK_CONCAT_(a, b) VDISK_CONCAT_INNER_(a, b)

// Evaluates `expr` (a Status); returns it from the enclosing function when it is not ok.
#define VDISK_RETURN_IF_ERROR(expr)                        \
  do {                                                     \
    ::vdisk::Status vdisk_status_tmp_ = (expr);            \
    if (!vdisk_status_tmp_.ok()) return vdisk_status_tmp_; \
  } while (0)

// `lhs = value of expr` (a Result<T>), or returns its Status from the enclosing function.
#define VDISK_ASSIGN_OR_RETURN(lhs, expr) \
  VDISK_ASSIGN_OR_RETURN_IMPL_(VDISK_CONCAT_(vdisk_result_tmp_, __LINE__), lhs, expr)
#define VDISK_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                 \
  if (!tmp.ok()) return std::move(tmp).status();     \
  lhs = std::move(tmp).value()

#endif  // VDISK_STATUS_H_
