"""Scenario: two publishers with the same key, under each ingest.on_duplicate policy.
takeover-stale: the newcomer is refused while the first sends media, and takes over once the
first has been silent (SIGSTOPped, TCP still open) for stale_ms. takeover: the newcomer always
wins. reject: the newcomer is refused even while the first is silent."""

import signal
import time

import gvtest

KEY = "dup-key-0b7e"
STALE_MS = 2000
t = gvtest.Test("duplicate", timeout=200)


def segment_count_grows(g, before_msn, timeout=8):
    try:
        g.wait_playlist("demo", 1, timeout=timeout,
                        pred=lambda p: p.last_msn is not None and p.last_msn >= before_msn + 2)
        return True
    except gvtest.Fatal:
        return False


def disc_msns(pl):
    return [s.msn for s in pl.segments if s.discontinuity]


with t:
    # ---- takeover-stale ----
    g = t.start_gavel([("demo", KEY)], hls=dict(segment_target_ms=1000), ingest=dict(
        on_duplicate="takeover-stale", stale_ms=STALE_MS))
    chk = gvtest.RuleChecker(t, g.media_url("demo"), secrets=t.secrets, probe_parts=False)
    a = t.ffmpeg_publish(g.rtmp_url(KEY), name="ts_a", gop=30)
    _, pl = g.wait_playlist("demo", 2, timeout=20)
    chk.check_playlist(pl)
    disc0 = disc_msns(pl)

    b = t.ffmpeg_publish(g.rtmp_url(KEY), name="ts_b_live", gop=30, duration=30)
    rc = b.wait(12)
    t.check("takeover-stale: newcomer refused while the first sends media (exits non-zero)",
            rc not in (0, None), "rc=%s" % rc)
    if rc is None:
        b.kill()
    t.check("takeover-stale: first publisher unaffected", a.alive(), a.tail(5))
    _, pl = g.get_media("demo")
    t.check("takeover-stale: playlist keeps growing from the first publisher",
            segment_count_grows(g, pl.last_msn))
    _, pl = g.get_media("demo")
    chk.check_playlist(pl)
    t.check("takeover-stale: no new DISCONTINUITY from the refused newcomer",
            disc_msns(pl) == [m for m in disc0 if m >= pl.media_sequence], str(disc_msns(pl)))

    # The first publisher goes silent but keeps its TCP connection.
    a.send_signal(signal.SIGSTOP)
    t_stop = gvtest.now()
    time.sleep(0.5)
    b = t.ffmpeg_publish(g.rtmp_url(KEY), name="ts_b_early", gop=30, duration=30)
    rc = b.wait(min(1.2, STALE_MS / 1000.0 - 0.8))
    early = gvtest.now() - t_stop
    if rc is not None:
        t.check("takeover-stale: newcomer before stale_ms is refused", rc != 0,
                "rc=%s after %.2fs of silence" % (rc, early))
    else:
        # Still connecting/being held when stale_ms passed: acceptable only if it is refused
        # or takes over cleanly; stop it and move on.
        b.kill()
        t.info("newcomer 0.5 s into the silence neither refused nor ended within %.1fs" % early)
    time.sleep(max(0, STALE_MS / 1000.0 + 0.5 - (gvtest.now() - t_stop)))
    _, pl = g.get_media("demo")
    before = pl.last_msn
    c = t.ffmpeg_publish(g.rtmp_url(KEY), name="ts_c_takeover", gop=30)
    t0 = gvtest.now()
    ok = True
    try:
        _, pl = g.wait_playlist("demo", 1, timeout=15, pred=lambda p: any(
            s.discontinuity and s.msn > before for s in p.complete_segments) and
            p.last_msn >= before + 2)
    except gvtest.Fatal as e:
        ok = False
        t.fail("takeover-stale: newcomer after stale_ms takes over (DISCONTINUITY, new segments)",
               "%s\nnewcomer: %s" % (e, c.tail(5)))
    if ok:
        t.check("takeover-stale: newcomer after stale_ms takes over (DISCONTINUITY, new "
                "segments)", True, "%.2fs" % (gvtest.now() - t0))
        chk.check_playlist(pl)
    t.check("takeover-stale: newcomer keeps publishing", c.alive(), c.tail(5))
    a.send_signal(signal.SIGCONT)
    rc = a.wait(10)
    t.check("takeover-stale: the stale publisher is disconnected once it resumes",
            rc is not None, "still running")
    time.sleep(1.0)
    t.check("takeover-stale: newcomer unaffected by the old one resuming", c.alive(), c.tail(5))
    _, pl = g.get_media("demo")
    chk.check_playlist(pl)
    chk.report("takeover-stale: ")
    for p in (a, c):
        p.kill()
    g.terminate()

    # ---- takeover ----
    g = t.start_gavel([("demo", KEY)], hls=dict(segment_target_ms=1000),
                      ingest=dict(on_duplicate="takeover", stale_ms=STALE_MS))
    a = t.ffmpeg_publish(g.rtmp_url(KEY), name="to_a", gop=30)
    _, pl = g.wait_playlist("demo", 2, timeout=20)
    before = pl.last_msn
    b = t.ffmpeg_publish(g.rtmp_url(KEY), name="to_b", gop=30)
    rc = a.wait(10)
    t.check("takeover: first publisher is disconnected by the newcomer", rc is not None,
            "first still running")
    try:
        _, pl = g.wait_playlist("demo", 1, timeout=15, pred=lambda p: any(
            s.discontinuity and s.msn > before for s in p.complete_segments) and
            p.last_msn >= before + 2)
        t.check("takeover: newcomer's media follows a DISCONTINUITY", True)
    except gvtest.Fatal as e:
        t.fail("takeover: newcomer's media follows a DISCONTINUITY", str(e))
    t.check("takeover: newcomer keeps publishing", b.alive(), b.tail(5))
    for p in (a, b):
        p.kill()
    g.terminate()

    # ---- reject ----
    g = t.start_gavel([("demo", KEY)], hls=dict(segment_target_ms=1000),
                      ingest=dict(on_duplicate="reject", stale_ms=STALE_MS))
    a = t.ffmpeg_publish(g.rtmp_url(KEY), name="rj_a", gop=30)
    _, pl = g.wait_playlist("demo", 2, timeout=20)
    a.send_signal(signal.SIGSTOP)
    time.sleep(STALE_MS / 1000.0 + 0.5)
    b = t.ffmpeg_publish(g.rtmp_url(KEY), name="rj_b", gop=30, duration=30)
    rc = b.wait(12)
    t.check("reject: newcomer refused even while the first is silent", rc not in (0, None),
            "rc=%s" % rc)
    if rc is None:
        b.kill()
    a.send_signal(signal.SIGCONT)
    _, pl = g.get_media("demo")
    t.check("reject: first publisher continues after resuming", segment_count_grows(
        g, pl.last_msn, timeout=10) and a.alive(), a.tail(5))
    for p in (a, b):
        p.kill()
    g.terminate()
