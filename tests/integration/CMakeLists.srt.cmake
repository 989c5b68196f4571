# SRT ingest scenarios (included from tests/integration/CMakeLists.txt).
gv_add_integration_test(it_srt_ffmpeg srt_ffmpeg.py integration 160)
gv_add_integration_test(it_srt_gstreamer srt_gstreamer.py integration 160)
gv_add_integration_test(it_srt_live_transmit srt_live_transmit.py integration 160)
gv_add_integration_test(it_srt_auth srt_auth.py integration 180)
gv_add_integration_test(it_srt_switch srt_switch.py integration 210)
# Malformed TS, connection limit, silent caller and handshake flood against a live publisher.
gv_add_integration_test(it_srt_robust srt_robust.py integration 150)
# Network namespaces with netem, or nftables loss plus a delaying relay, or a loopback relay.
gv_add_integration_test(it_srt_loss srt_loss.py integration 200)
# HEVC over Enhanced RTMP (test publisher) and over SRT (ffmpeg libx265).
gv_add_integration_test(it_hevc hevc.py integration 200)
