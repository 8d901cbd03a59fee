# vdisk_warnings: an INTERFACE target carrying the project's warning flags. Linked PRIVATE into
# every project target so the flags never reach consumers of the installed library.
add_library(vdisk_warnings INTERFACE)
target_compile_options(vdisk_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast -Wcast-align
  -Woverloaded-virtual -Wconversion -Wsign-conversion -Wnull-dereference -Wdouble-promotion
  -Wformat=2 -Wimplicit-fallthrough -Wunused
  $<$<CXX_COMPILER_ID:GNU>:-Wduplicated-cond -Wduplicated-branches -Wlogical-op -Wsuggest-override>
  $<$<BOOL:${VDISK_WERROR}>:-Werror>)
