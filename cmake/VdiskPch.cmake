# VDISK_PCH=ON precompiles the standard and fmt headers nearly every file includes, once per
# target (the library, vdconvert's objects, each unit-test executable, with Catch2 there).
# A clean build spends most of its time parsing them again; CI (.ci/run) turns this on.
# Off by default: a build without it is what proves every file includes what it uses.
option(VDISK_PCH "Precompile the common standard and fmt headers" OFF)

set(VDISK_PCH_HEADERS
    <algorithm> <array> <atomic> <cstddef> <cstdint> <cstring> <filesystem> <functional>
    <map> <memory> <mutex> <optional> <span> <string> <string_view> <utility> <variant>
    <vector> <fmt/format.h>)

# vdisk_precompile(<target> [extra headers...])
function(vdisk_precompile target)
  if(VDISK_PCH)
    target_precompile_headers(${target} PRIVATE ${VDISK_PCH_HEADERS} ${ARGN})
  endif()
endfunction()
