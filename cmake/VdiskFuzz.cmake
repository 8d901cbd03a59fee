# vdisk_add_fuzzer(<name> <source>): a fuzz target fuzz_<name> over LLVMFuzzerTestOneInput.
#
# VDISK_FUZZ_LINKMAIN=ON (default, any compiler): links fuzz/replay_main.cpp, which runs every
# file of fuzz/corpus/<name>/ through the target, and registers that replay as ctest
# "fuzz.<name>". With clang and -DVDISK_FUZZ_LINKMAIN=OFF the target links libFuzzer with
# ASan/UBSan for real fuzzing: ./fuzz_<name> fuzz/corpus/<name> -dict=fuzz/dict/<name>.dict
option(VDISK_FUZZ_LINKMAIN "Link fuzzers with the corpus replay main instead of libFuzzer" ON)

function(vdisk_add_fuzzer name source)
  add_executable(fuzz_${name} ${source})
  target_link_libraries(fuzz_${name} PRIVATE vdisk_internal vdisk_warnings)
  if(VDISK_FUZZ_LINKMAIN)
    target_sources(fuzz_${name} PRIVATE ${PROJECT_SOURCE_DIR}/fuzz/replay_main.cpp)
    if(BUILD_TESTING OR VDISK_BUILD_TESTS)
      add_test(NAME fuzz.${name}
               COMMAND fuzz_${name} ${PROJECT_SOURCE_DIR}/fuzz/corpus/${name})
      set_tests_properties(fuzz.${name} PROPERTIES TIMEOUT 300 LABELS fuzz)
    endif()
  else()
    target_compile_options(fuzz_${name} PRIVATE -fsanitize=fuzzer,address,undefined)
    target_link_options(fuzz_${name} PRIVATE -fsanitize=fuzzer,address,undefined)
  endif()
endfunction()
