// Standard input as a vdisk::InputStream that notices a stop request while it waits.
//
// The library's fd_input_stream() blocks in read(); with SIGINT blocked in every thread (see
// signals.h), a read from an idle pipe would then never return and Ctrl-C would hang until the
// producer writes again. This stream waits with poll() in short slices and returns
// Errc::cancelled once `stop` is triggered.
#ifndef VDCONVERT_STDIN_STREAM_H_
#define VDCONVERT_STDIN_STREAM_H_

#include <memory>
#include <stop_token>

#include "vdisk/io.h"

namespace vdconvert {

std::unique_ptr<vdisk::InputStream> cancellable_fd_stream(int fd, std::string name,
                                                          std::stop_token stop);

}  // namespace vdconvert

#endif  // VDCONVERT_STDIN_STREAM_H_
