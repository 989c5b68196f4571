# Overlay scenarios (included from tests/integration/CMakeLists.txt): the control API and the
# burned-in lot card end to end, republish with a new resolution and ingest overflow.
gv_add_integration_test(it_overlay_api overlay_api.py integration 240)
gv_add_integration_test(it_overlay_republish overlay_republish.py integration 200)
