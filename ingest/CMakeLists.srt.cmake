# SRT ingest: libsrt (openssl flavour) listener + MPEG-TS demuxing with libavformat.
# Included from ingest/CMakeLists.txt.
pkg_check_modules(SRT REQUIRED IMPORTED_TARGET srt)
# libavformat already loads its own libsrt (Debian builds FFmpeg against the gnutls flavour).
# Two shared libsrt copies in one process interpose each other's C++ globals, which are then
# destroyed twice at exit (a crash on every shutdown). So the openssl libsrt is linked
# statically with its symbols kept local; the shared library is the fallback when no archive
# is installed.
find_library(GV_SRT_ARCHIVE NAMES libsrt.a HINTS ${SRT_LIBRARY_DIRS})
if(GV_SRT_ARCHIVE)
  pkg_check_modules(SRT_SSL REQUIRED libssl libcrypto)
  target_include_directories(gavel_lib PUBLIC ${SRT_INCLUDE_DIRS})
  # Raw flags keep their order on the link line: the archive first, then what it needs.
  target_link_libraries(gavel_lib PUBLIC ${GV_SRT_ARCHIVE} "-Wl,--exclude-libs,libsrt.a"
                        ${SRT_SSL_LDFLAGS} -lstdc++ -lm)
else()
  target_link_libraries(gavel_lib PUBLIC PkgConfig::SRT)
endif()

target_sources(gavel_lib PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/srt_streamid.c
  ${CMAKE_CURRENT_LIST_DIR}/mpegts_es.c
  ${CMAKE_CURRENT_LIST_DIR}/mpegts.c
  ${CMAKE_CURRENT_LIST_DIR}/srt_conn.c
  ${CMAKE_CURRENT_LIST_DIR}/srt_metrics.c
  ${CMAKE_CURRENT_LIST_DIR}/srt_server.c)

gv_add_unit_test(test_srt_streamid ${PROJECT_SOURCE_DIR}/tests/unit/test_srt_streamid.c)
gv_add_unit_test(test_mpegts ${PROJECT_SOURCE_DIR}/tests/unit/test_mpegts.c)
gv_add_unit_test(test_srt_metrics ${PROJECT_SOURCE_DIR}/tests/unit/test_srt_metrics.c)
gv_add_unit_test(test_srt_server ${PROJECT_SOURCE_DIR}/tests/unit/test_srt_server.c)
# Both encode their input with ffmpeg during the test; the server test also runs SRT sessions.
set_tests_properties(test_mpegts test_srt_server PROPERTIES TIMEOUT 180)

# Fuzz the TS input path. Run: build-fuzz/fuzz/fuzz_mpegts tests/fuzz/corpus/mpegts -max_total_time=30
gv_add_fuzz_target(fuzz_mpegts ${PROJECT_SOURCE_DIR}/tests/fuzz/fuzz_mpegts.c)
