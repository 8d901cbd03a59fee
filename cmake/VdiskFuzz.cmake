# vdisk_add_fuzzer(<name> <source>): a fuzz target fuzz_<name> over LLVMFuzzerTestOneInput.
#
# VDISK_FUZZ_LINKMAIN=ON (default, any compiler): links fuzz/replay_main.cpp, which runs every
# file of fuzz/corpus/<name>/ through the target, and registers that replay as ctest
# "fuzz.<name>". With clang and -DVDISK_FUZZ_LINKMAIN=OFF the target links libFuzzer with
# ASan/UBSan for real fuzzing: ./fuzz_<name> fuzz/corpus/<name> -dict=fuzz/dict/<name>.dict;
# ctest then replays the corpus under libFuzzer ("fuzz.<name>") and fuzzes each target for
# VDISK_FUZZ_SMOKE_SECONDS ("fuzz_run.<name>", fuzz/smoke.sh).
option(VDISK_FUZZ_LINKMAIN "Link fuzzers with the corpus replay main instead of libFuzzer" ON)
# libFuzzer builds: ctest also fuzzes each target this long ("fuzz_run.<name>"; 0: not at all).
set(VDISK_FUZZ_SMOKE_SECONDS 20 CACHE STRING "Seconds each fuzz_run.<name> test fuzzes")

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
    if(BUILD_TESTING OR VDISK_BUILD_TESTS)
      # The corpus replayed once under libFuzzer (-runs=0: every input, no mutation) ...
      add_test(NAME fuzz.${name}
               COMMAND fuzz_${name} -runs=0 -timeout=25 -rss_limit_mb=2048
                       ${PROJECT_SOURCE_DIR}/fuzz/corpus/${name})
      set_tests_properties(fuzz.${name} PROPERTIES TIMEOUT 300 LABELS fuzz)
      # ... and fuzzed for VDISK_FUZZ_SMOKE_SECONDS from it (fuzz/smoke.sh).
      if(VDISK_FUZZ_SMOKE_SECONDS GREATER 0)
        add_test(NAME fuzz_run.${name}
                 COMMAND bash ${PROJECT_SOURCE_DIR}/fuzz/smoke.sh $<TARGET_FILE:fuzz_${name}>
                         ${PROJECT_SOURCE_DIR}/fuzz/corpus/${name}
                         ${PROJECT_SOURCE_DIR}/fuzz/dict/${name}.dict ${VDISK_FUZZ_SMOKE_SECONDS}
                         ${CMAKE_CURRENT_BINARY_DIR}/smoke/${name})
        set_tests_properties(fuzz_run.${name} PROPERTIES TIMEOUT 600 LABELS fuzz_run COST 25)
      endif()
    endif()
  endif()
endfunction()
