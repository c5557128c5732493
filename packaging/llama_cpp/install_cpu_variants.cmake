# Included by llama-cpp-python's top-level CMakeLists through CMAKE_PROJECT_INCLUDE.
# With GGML_BACKEND_DL + GGML_CPU_ALL_VARIANTS ggml builds one CPU backend per x86/arm64
# feature level (libggml-cpu-haswell.so, ...-skylakex.so, ...), but llama-cpp-python only
# installs the single `ggml-cpu` target. At the end of the top-level directory, when every
# target exists, install the variants next to libllama.so so Maestro can pick one at run time.
function(maestro_install_cpu_variants)
  set(_targets "")
  foreach(_v IN ITEMS x64 sse42 sandybridge ivybridge piledriver haswell skylakex cannonlake
                      cascadelake icelake cooperlake zen4 alderlake sapphirerapids
                      armv8.0_1 armv8.2_1 armv8.2_2 armv8.2_3 armv8.6_1 armv8.6_2 armv9.2_1 armv9.2_2)
    if(TARGET ggml-cpu-${_v})
      list(APPEND _targets ggml-cpu-${_v})
    endif()
  endforeach()
  if(NOT _targets)
    message(FATAL_ERROR "maestro: no ggml-cpu-* variants were configured (is GGML_CPU_ALL_VARIANTS on?)")
  endif()
  message(STATUS "maestro: installing CPU variants: ${_targets}")
  foreach(_t IN LISTS _targets)
    set_target_properties(${_t} PROPERTIES INSTALL_RPATH "$ORIGIN" BUILD_WITH_INSTALL_RPATH TRUE)
    install(TARGETS ${_t} LIBRARY DESTINATION ${SKBUILD_PLATLIB_DIR}/llama_cpp/lib
                          RUNTIME DESTINATION ${SKBUILD_PLATLIB_DIR}/llama_cpp/lib)
  endforeach()
endfunction()

if(CMAKE_SOURCE_DIR STREQUAL CMAKE_CURRENT_SOURCE_DIR)
  cmake_language(DEFER DIRECTORY "${CMAKE_SOURCE_DIR}" CALL maestro_install_cpu_variants)
endif()
