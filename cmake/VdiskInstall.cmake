# Installs the library, its public headers, a CMake package (find_package(vdisk) ->
# vdisk::vdisk), pkg-config files (vdisk for C++, vdisk-c for C; docs/c-api.md) and the Python
# binding.
include(CMakePackageConfigHelpers)

install(TARGETS vdisk EXPORT vdiskTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/libvdisk/include/vdisk
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} FILES_MATCHING PATTERN "*.h")
install(FILES ${PROJECT_BINARY_DIR}/libvdisk/include/vdisk/version.h
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/vdisk)

set(VDISK_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/vdisk)
install(EXPORT vdiskTargets NAMESPACE vdisk:: DESTINATION ${VDISK_CMAKE_DIR})
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/vdiskConfig.cmake.in
  ${PROJECT_BINARY_DIR}/vdiskConfig.cmake INSTALL_DESTINATION ${VDISK_CMAKE_DIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/vdiskConfigVersion.cmake
  COMPATIBILITY SameMajorVersion)
install(FILES ${PROJECT_BINARY_DIR}/vdiskConfig.cmake ${PROJECT_BINARY_DIR}/vdiskConfigVersion.cmake
  DESTINATION ${VDISK_CMAKE_DIR})
if(VDISK_HAVE_ISAL)
  # ISA-L has no CMake package of its own: ship the find module the config uses.
  install(FILES ${PROJECT_SOURCE_DIR}/cmake/FindISAL.cmake DESTINATION ${VDISK_CMAKE_DIR})
  set(VDISK_PC_REQUIRES_ISAL " libisal")
else()
  set(VDISK_PC_REQUIRES_ISAL "")
endif()
if(VDISK_HAVE_LIBDEFLATE)
  install(FILES ${PROJECT_SOURCE_DIR}/cmake/FindLibdeflate.cmake DESTINATION ${VDISK_CMAKE_DIR})
  string(APPEND VDISK_PC_REQUIRES_ISAL " libdeflate")
endif()

# Zstandard is always required (qcow2 zstd clusters); Debian's package has no CMake module we
# rely on, so ship the find module the config uses.
install(FILES ${PROJECT_SOURCE_DIR}/cmake/FindZstd.cmake DESTINATION ${VDISK_CMAKE_DIR})
string(APPEND VDISK_PC_REQUIRES_ISAL " libzstd")
# liblzma (xz initrds) comes with CMake's own FindLibLZMA module: nothing to ship.
string(APPEND VDISK_PC_REQUIRES_ISAL " liblzma")
# libcurl is linked as -lcurl (vdisk.pc.in, Libs.private), not required by name: the static
# closure of its pkg-config file names libraries (nghttp2, rtmp, ...) whose -dev packages a
# consumer of the shared libcurl does not have.

file(RELATIVE_PATH VDISK_PC_PREFIX_REL "${CMAKE_INSTALL_FULL_LIBDIR}/pkgconfig" "${CMAKE_INSTALL_PREFIX}")
string(REGEX REPLACE "/$" "" VDISK_PC_PREFIX_REL "${VDISK_PC_PREFIX_REL}")
configure_file(${PROJECT_SOURCE_DIR}/cmake/vdisk.pc.in ${PROJECT_BINARY_DIR}/vdisk.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/vdisk.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
configure_file(${PROJECT_SOURCE_DIR}/cmake/vdisk-c.pc.in ${PROJECT_BINARY_DIR}/vdisk-c.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/vdisk-c.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

# The Python binding (python/vdisk, docs/c-api.md "Python"): the package and, next to it, the
# shared library it loads (libvdisk.so.0), so the package works wherever the prefix is and
# whether the library in ${CMAKE_INSTALL_LIBDIR} is static or shared. The default directory is
# Debian's for prefix /usr; set VDISK_PYTHON_DIR (relative to the prefix, or absolute) to
# install it elsewhere, e.g. into `python3 -c "import sysconfig; print(sysconfig.get_path('purelib'))"`.
set(VDISK_PYTHON_DIR "lib/python3/dist-packages" CACHE STRING
    "Where the Python package vdisk is installed (relative to the prefix, or absolute)")
install(FILES ${PROJECT_SOURCE_DIR}/python/vdisk/__init__.py DESTINATION ${VDISK_PYTHON_DIR}/vdisk)
get_target_property(vdisk_type vdisk TYPE)
if(vdisk_type STREQUAL "SHARED_LIBRARY")
  install(FILES $<TARGET_FILE:vdisk> DESTINATION ${VDISK_PYTHON_DIR}/vdisk RENAME libvdisk.so.0)
else()
  install(TARGETS vdisk_shared LIBRARY DESTINATION ${VDISK_PYTHON_DIR}/vdisk NAMELINK_SKIP)
endif()
