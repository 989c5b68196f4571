# Overlay transcode worker, per-stream lot state and control API (included from
# overlay/CMakeLists.txt), plus their unit tests.
if(NOT TARGET PkgConfig::SWSCALE)
  pkg_check_modules(SWSCALE REQUIRED IMPORTED_TARGET libswscale)
endif()
target_link_libraries(gavel_lib PUBLIC PkgConfig::SWSCALE)
target_sources(gavel_lib PRIVATE worker.c frame_queue.c lot_store.c api.c)

gv_add_unit_test(test_lot_store ${CMAKE_SOURCE_DIR}/tests/unit/test_lot_store.c)
gv_add_unit_test(test_api ${CMAKE_SOURCE_DIR}/tests/unit/test_api.c)
gv_add_unit_test(test_overlay_frame_queue ${CMAKE_SOURCE_DIR}/tests/unit/test_overlay_frame_queue.c)
