# SRT ingest scenarios (included from tests/integration/CMakeLists.txt).
gv_add_integration_test(it_srt_ffmpeg srt_ffmpeg.py integration 160)
gv_add_integration_test(it_srt_gstreamer srt_gstreamer.py integration 160)
gv_add_integration_test(it_srt_live_transmit srt_live_transmit.py integration 160)
gv_add_integration_test(it_srt_auth srt_auth.py integration 180)
gv_add_integration_test(it_srt_switch srt_switch.py integration 210)
# Creates network namespaces with netem when the kernel allows it, else a userspace lossy relay.
gv_add_integration_test(it_srt_loss srt_loss.py integration 200)
