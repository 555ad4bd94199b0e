# Writes OUT from engine/core/build_info.cpp.in with the current commit; configure_file only
# touches OUT when its content changes, so unchanged builds recompile nothing.
execute_process(COMMAND git rev-parse --short HEAD WORKING_DIRECTORY ${SRC}
                OUTPUT_VARIABLE LETHE_COMMIT OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
if(NOT LETHE_COMMIT)
  set(LETHE_COMMIT "unknown")
else()
  execute_process(COMMAND git diff --quiet HEAD WORKING_DIRECTORY ${SRC} RESULT_VARIABLE dirty
                  ERROR_QUIET)
  if(dirty)
    set(LETHE_COMMIT "${LETHE_COMMIT}-dirty")
  endif()
endif()
configure_file(${SRC}/engine/core/build_info.cpp.in ${OUT} @ONLY)
