# FindLibdeflate: the libdeflate compression library (Debian: libdeflate-dev; version 1.14 ships
# a pkg-config file but no CMake package). Defines Libdeflate_FOUND, LIBDEFLATE_INCLUDE_DIR,
# LIBDEFLATE_LIBRARY and the imported target Libdeflate::Libdeflate. Installed next to
# vdiskConfig.cmake so consumers of a static libvdisk built with libdeflate can resolve it.
find_package(PkgConfig QUIET)
if(PKG_CONFIG_FOUND)
  pkg_check_modules(PC_LIBDEFLATE QUIET libdeflate)
endif()
find_path(LIBDEFLATE_INCLUDE_DIR NAMES libdeflate.h HINTS ${PC_LIBDEFLATE_INCLUDE_DIRS})
find_library(LIBDEFLATE_LIBRARY NAMES deflate HINTS ${PC_LIBDEFLATE_LIBRARY_DIRS})
include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(Libdeflate REQUIRED_VARS LIBDEFLATE_LIBRARY
                                  LIBDEFLATE_INCLUDE_DIR VERSION_VAR PC_LIBDEFLATE_VERSION)
if(Libdeflate_FOUND AND NOT TARGET Libdeflate::Libdeflate)
  add_library(Libdeflate::Libdeflate UNKNOWN IMPORTED)
  set_target_properties(Libdeflate::Libdeflate PROPERTIES IMPORTED_LOCATION "${LIBDEFLATE_LIBRARY}"
                        INTERFACE_INCLUDE_DIRECTORIES "${LIBDEFLATE_INCLUDE_DIR}")
endif()
mark_as_advanced(LIBDEFLATE_INCLUDE_DIR LIBDEFLATE_LIBRARY)
