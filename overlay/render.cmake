# Lot card rendering (cairo + pango), lot JSON validation, image loading, YUV blending and the
# per-stream composer, with their unit tests and the compose benchmark.
pkg_check_modules(CAIRO REQUIRED IMPORTED_TARGET cairo pangocairo fontconfig)
pkg_check_modules(SWSCALE REQUIRED IMPORTED_TARGET libswscale)
target_link_libraries(gavel_lib PUBLIC PkgConfig::CAIRO PkgConfig::SWSCALE)

target_sources(gavel_lib PRIVATE
  ${CMAKE_CURRENT_SOURCE_DIR}/lot.c
  ${CMAKE_CURRENT_SOURCE_DIR}/card.c
  ${CMAKE_CURRENT_SOURCE_DIR}/blend.c
  ${CMAKE_CURRENT_SOURCE_DIR}/compose.c
  ${CMAKE_CURRENT_SOURCE_DIR}/image.c)

set(GV_OVR_T ${CMAKE_SOURCE_DIR}/tests/unit)
gv_add_unit_test(test_lot ${GV_OVR_T}/test_lot.c)
gv_add_unit_test(test_blend ${GV_OVR_T}/test_blend.c)
gv_add_unit_test(test_card ${GV_OVR_T}/test_card.c)
gv_add_unit_test(test_compose ${GV_OVR_T}/test_compose.c)

# Compose cost per frame at 720p and 1080p: a benchmark, not a test (build optimised).
add_executable(compose_bench ${CMAKE_SOURCE_DIR}/bench/compose_bench.c)
target_link_libraries(compose_bench PRIVATE gavel_lib)
set_target_properties(compose_bench PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR})
