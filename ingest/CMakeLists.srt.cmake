# SRT ingest: libsrt (openssl flavour) listener + MPEG-TS demuxing with libavformat.
# Included from ingest/CMakeLists.txt.
pkg_check_modules(SRT REQUIRED IMPORTED_TARGET srt)
target_link_libraries(gavel_lib PUBLIC PkgConfig::SRT)

target_sources(gavel_lib PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/srt_streamid.c
  ${CMAKE_CURRENT_LIST_DIR}/mpegts_es.c
  ${CMAKE_CURRENT_LIST_DIR}/mpegts.c
  ${CMAKE_CURRENT_LIST_DIR}/srt_conn.c
  ${CMAKE_CURRENT_LIST_DIR}/srt_server.c)

gv_add_unit_test(test_srt_streamid ${PROJECT_SOURCE_DIR}/tests/unit/test_srt_streamid.c)
gv_add_unit_test(test_mpegts ${PROJECT_SOURCE_DIR}/tests/unit/test_mpegts.c)
# test_mpegts encodes its input with ffmpeg (H.264, HEVC, AAC) and demuxes it several ways.
set_tests_properties(test_mpegts PROPERTIES TIMEOUT 180)
gv_add_unit_test(test_srt_server ${PROJECT_SOURCE_DIR}/tests/unit/test_srt_server.c)

# Fuzz the TS input path. Run: build-fuzz/fuzz/fuzz_mpegts tests/fuzz/corpus/mpegts -max_total_time=30
gv_add_fuzz_target(fuzz_mpegts ${PROJECT_SOURCE_DIR}/tests/fuzz/fuzz_mpegts.c)
