// vdconvert's exit codes, documented in `vdconvert --help`.
//
//   0    success
//   1    usage error: bad arguments, unknown command/option/target, DST exists without --force,
//        SRC and DST are the same file, image bytes refused on a terminal
//   2    corrupt or invalid input (the image breaks its format's rules or exceeds a limit, or
//        names a file outside its directory: the link rule; docs/cli.md maps every code)
//   3    I/O error: a read or write failed, a file is missing, the output device is full
//   4    the input uses a feature libvdisk does not support
//   5    `check` ran and found rule violations
//   6    internal error (a bug in vdconvert or libvdisk)
//   130  interrupted by SIGINT or SIGTERM; no output was left behind
#ifndef VDCONVERT_EXIT_CODES_H_
#define VDCONVERT_EXIT_CODES_H_

#include "vdisk/status.h"

namespace vdconvert {

enum ExitCode : int {
  kExitOk = 0,
  kExitUsage = 1,
  kExitCorrupt = 2,
  kExitIo = 3,
  kExitUnsupported = 4,
  kExitCheckFailed = 5,
  kExitInternal = 6,
  kExitInterrupted = 130,
};

// The one place where library error codes become exit codes.
int exit_code_for(vdisk::Errc code) noexcept;

}  // namespace vdconvert

#endif  // VDCONVERT_EXIT_CODES_H_
