// Fuzz target: the C API's key=value options (vdisk_options_set: the general keys, a remote
// SRC's aws.*, http.* (http.header: parse_source_header) and since keys, a cloud DST's keys
// (resume, put-md5, update, managed-disk, verify, description, tag, parent-snapshot), unique-id's
// hex, numbers, flags, format.KEY and target.KEY checked against the drivers' tables). Each
// input line is "key=value" (a line without '=' is a key with a NULL value). Every call must
// return ok or invalid_argument, with a message exactly when it fails, and the errptr
// convention must hold (a previous message is replaced, never leaked or kept on success); a
// refused credential (aws.secret-access-key, aws.session-token) is not in the message.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "vdisk/vdisk_c.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  vdisk_options_t* options = vdisk_options_create();
  if (options == nullptr) return 0;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  char* err = nullptr;
  std::size_t start = 0;
  while (start <= input.size()) {
    std::size_t end = input.find('\n', start);
    if (end == std::string_view::npos) end = input.size();
    const std::string line(input.substr(start, end - start));
    start = end + 1;
    const std::size_t eq = line.find('=');
    const std::string key = line.substr(0, eq);
    const std::string value = eq == std::string::npos ? std::string() : line.substr(eq + 1);
    const bool had_message = err != nullptr;
    const int rc = vdisk_options_set(options, key.c_str(),
                                     eq == std::string::npos ? nullptr : value.c_str(), &err);
    if (rc != VDISK_OK && rc != VDISK_INVALID_ARGUMENT) std::abort();
    if (rc != VDISK_OK && (err == nullptr || std::strlen(err) == 0)) std::abort();
    if (rc == VDISK_OK && had_message != (err != nullptr)) std::abort();
    // A credential is never shown, whatever is wrong with it.
    if (rc != VDISK_OK && !value.empty() &&
        (key == "aws.secret-access-key" || key == "aws.session-token") &&
        std::strstr(err, value.c_str()) != nullptr)
      std::abort();
  }
  vdisk_free(err);
  vdisk_options_destroy(options);
  return 0;
}
