"""Scenario: SRT over a lossy link. The test creates two network namespaces joined by a veth pair
(10.200.77.1 gavel side, 10.200.77.2 publisher side), puts netem (5% loss, 20 ms delay) on both
ends so media packets and SRT's acknowledgements both suffer, runs gavel in the first namespace
and ffmpeg publishing over SRT in the second, and checks that SRT's retransmissions hide the
loss: the playlist passes the rule checker, the segments decode with ffmpeg without errors, and
gavel's SRT statistics report retransmitted packets. The namespaces are removed on every exit
path. Where the kernel has no netem, the loss is made by the kernel anyway with an nftables rule
in each namespace (5% of UDP datagrams dropped at the veth, both ways) and the 20 ms delay by a
userspace UDP relay in gavel's namespace (srt_common.LossyUdpRelay, loss 0). Where namespaces
are not allowed at all, the relay applies both loss and delay on loopback. The test prints which
of the three set-ups ran.

Run as: srt_loss.py /path/to/gavel (re-executes itself inside the gavel namespace)."""

import os
import re
import subprocess
import sys
import time

import gvtest
import srt_common

NS_G = "gvsrt-g%d" % os.getpid()
NS_P = "gvsrt-p%d" % os.getpid()
ADDR_G, ADDR_P = "10.200.77.1", "10.200.77.2"
KEY = "srt-loss-key-e51d"
LATENCY_MS = 500  # several round trips of retransmission at 40 ms RTT


def sh(*argv, check=True):
    r = subprocess.run(list(argv), stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=20)
    if check and r.returncode != 0:
        raise RuntimeError("%s: %s" % (" ".join(argv), r.stderr.decode().strip()))
    return r


def teardown():
    for ns in (NS_G, NS_P):
        subprocess.run(["ip", "netns", "del", ns], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=20)


def setup():
    sh("ip", "netns", "add", NS_G)
    sh("ip", "netns", "add", NS_P)
    sh("ip", "-n", NS_G, "link", "add", "veth-g", "type", "veth", "peer", "name", "veth-p",
       "netns", NS_P)
    for ns, dev, addr in ((NS_G, "veth-g", ADDR_G), (NS_P, "veth-p", ADDR_P)):
        sh("ip", "-n", ns, "addr", "add", addr + "/24", "dev", dev)
        sh("ip", "-n", ns, "link", "set", dev, "up")
        sh("ip", "-n", ns, "link", "set", "lo", "up")
    try:
        for ns, dev in ((NS_G, "veth-g"), (NS_P, "veth-p")):
            sh("ip", "netns", "exec", ns, "tc", "qdisc", "add", "dev", dev, "root", "netem",
               "loss", "5%", "delay", "20ms")
        return "netem"
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as e:
        print("     no netem in this kernel (%s)" % e)
    # Kernel loss without netem: drop 5% of the UDP datagrams entering each veth.
    for ns, dev in ((NS_G, "veth-g"), (NS_P, "veth-p")):
        sh("ip", "netns", "exec", ns, "nft", "add", "table", "inet", "gvloss")
        sh("ip", "netns", "exec", ns, "nft", "add", "chain", "inet", "gvloss", "in",
           "{ type filter hook input priority 0; }")
        sh("ip", "netns", "exec", ns, "nft", "add", "rule", "inet", "gvloss", "in", "iifname",
           dev, "meta", "l4proto", "udp", "numgen", "random", "mod", "100", "<", "5", "drop")
    return "nft"


def outer():
    if os.geteuid() != 0:
        print("     not root: no network namespaces; using the userspace UDP relay")
        inner(None)
        return 0
    try:
        mode = setup()
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as e:
        teardown()
        print("     network namespaces or netem not available here (%s);" % e)
        print("     applying 5% loss and 20 ms delay with a userspace UDP relay instead")
        inner(None)
        return 0
    if mode == "netem":
        print("     namespaces + netem: 5% loss and 20 ms delay each way, in the kernel")
    else:
        print("     namespaces + nftables: 5% loss each way in the kernel; 20 ms delay each way "
              "by a userspace relay in gavel's namespace")
    try:
        argv = ["ip", "netns", "exec", NS_G, sys.executable, os.path.abspath(__file__),
                sys.argv[1], "--inner", NS_P, mode]
        try:
            return subprocess.run(argv, timeout=170).returncode
        except subprocess.TimeoutExpired:
            print("FAIL srt_loss: inner scenario timed out")
            return 1
    finally:
        teardown()


def check_metrics(t, g, logged_loss, logged_retrans):
    """The same srt_bstats snapshot reaches /metrics: totals at least what was logged earlier,
    RTT over the 2 x 20 ms of added delay, a receive rate."""
    r = gvtest.http_get(g.url("/metrics"))
    t.require("/metrics: 200", r.status == 200, str(r.status))
    text = r.text
    for fam in ("gavel_srt_rtt_seconds", "gavel_srt_receive_bits_per_second",
                "gavel_srt_packets_received_total", "gavel_srt_packets_lost_total",
                "gavel_srt_packets_dropped_total", "gavel_srt_packets_retransmitted_total",
                "gavel_srt_bytes_received_total"):
        t.check("/metrics declares %s" % fam, ("# TYPE %s " % fam) in text)
    lost = gvtest.metric_value(text, "gavel_srt_packets_lost_total", "demo")
    retr = gvtest.metric_value(text, "gavel_srt_packets_retransmitted_total", "demo")
    rtt = gvtest.metric_value(text, "gavel_srt_rtt_seconds", "demo")
    rate = gvtest.metric_value(text, "gavel_srt_receive_bits_per_second", "demo")
    recv = gvtest.metric_value(text, "gavel_srt_packets_received_total", "demo")
    t.info("/metrics for demo: rtt %s s, rate %s bit/s, received %s, lost %s, retransmitted %s"
           % (rtt, rate, recv, lost, retr))
    t.check("/metrics: lost packets >= the %d logged" % logged_loss,
            lost is not None and lost >= logged_loss > 0, str(lost))
    t.check("/metrics: retransmitted >= the %d logged" % logged_retrans,
            retr is not None and retr >= logged_retrans > 0, str(retr))
    t.check("/metrics: RTT reflects the added delay (> 30 ms)", rtt is not None and rtt > 0.030,
            str(rtt))
    t.check("/metrics: a receive rate while publishing", rate is not None and rate > 0, str(rate))
    t.check("/metrics: received packets counted", recv is not None and recv > 1000, str(recv))


def inner(ns_pub, mode="relay"):
    t = gvtest.Test("srt_loss", timeout=160)
    with t:
        srt_host = ADDR_G if ns_pub else "127.0.0.1"
        g = srt_common.start_gavel(t, [("demo", KEY)], rtmp=False, srt_host=srt_host,
                                   srt=dict(latency_ms=LATENCY_MS, stats_interval_ms=2000))
        relay = None
        if ns_pub and mode == "netem":
            url = g.srt_url(srt_common.sid_ac(KEY), latency_ms=LATENCY_MS)
            prefix = ["ip", "netns", "exec", ns_pub]
        elif ns_pub:
            relay = srt_common.LossyUdpRelay(g.srt_port, loss=0.0, delay_s=0.02, host=ADDR_G)
            url = "srt://%s:%d?streamid=%s&pkt_size=1316&latency=%d" % (
                ADDR_G, relay.port, srt_common.sid_ac(KEY), LATENCY_MS * 1000)
            prefix = ["ip", "netns", "exec", ns_pub]
        else:
            relay = srt_common.LossyUdpRelay(g.srt_port, loss=0.05, delay_s=0.02)
            url = "srt://127.0.0.1:%d?streamid=%s&pkt_size=1316&latency=%d" % (
                relay.port, srt_common.sid_ac(KEY), LATENCY_MS * 1000)
            prefix = None
        pub = srt_common.ffmpeg_publish(t, url, prefix=prefix,
                                        extra=["-b:v", "1500k", "-maxrate", "1500k",
                                               "-bufsize", "1500k"])
        g.wait_playlist("demo", 1, timeout=25)
        srt_common.full_rule_check(t, g, "demo", pub, 10.0)
        time.sleep(2.5)
        log = g.proc.output()
        stats = re.findall(r"loss (\d+), drop (\d+), retrans (\d+)", log)
        t.require("SRT statistics logged", stats, log[-500:])
        loss, drop, retrans = (int(x) for x in stats[-1])
        t.info("SRT receiver: %d lost, %d dropped, %d retransmitted" % (loss, drop, retrans))
        t.check("the link really lost packets", loss > 0, "loss %d" % loss)
        t.check("lost packets were retransmitted", retrans > 0, "retrans %d" % retrans)
        t.check("no packet given up as too late (drop 0)", drop == 0, "drop %d" % drop)
        check_metrics(t, g, loss, retrans)
        if relay:
            t.info("relay (%s) forwarded %d, dropped %d datagrams" % (
                mode, relay.forwarded, relay.dropped))
            relay.close()


if __name__ == "__main__":
    if "--inner" in sys.argv:
        i = sys.argv.index("--inner")
        inner(sys.argv[i + 1], sys.argv[i + 2])
    else:
        sys.exit(outer())
