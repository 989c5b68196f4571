"""An Enhanced RTMP publisher for HEVC, for tests: Debian 12's ffmpeg (5.1) and GStreamer (1.22)
cannot send HEVC over RTMP, while OBS 29.1+ and newer ffmpeg do, using the Enhanced RTMP
extension (FourCC video tags). This client speaks that extension the way those encoders do:
plain handshake, connect with fourCcList, createStream, publish, then video messages with
ExVideoTagHeader: PacketTypeSequenceStart carrying the hvcC record, PacketTypeCodedFrames
(with a 24-bit composition time) for keyframes and PacketTypeCodedFramesX (no composition
time) for the other frames, paced in real time.

Input: an MP4 written by ffmpeg with libx265 (its hvcC box is sent as the sequence header) and
the same bitstream as Annex B with access unit delimiters (split into frames here).

Usage: ertmp_pub.py HOST PORT APP KEY FILE.mp4 FILE.hevc [FPS] [LOOPS]"""

import os
import socket
import struct
import sys
import time

CHUNK = 4096


def amf_str(s):
    b = s.encode()
    return b"\x02" + struct.pack(">H", len(b)) + b


def amf_num(x):
    return b"\x00" + struct.pack(">d", x)


def amf_obj(pairs):
    out = b"\x03"
    for k, v in pairs:
        kb = k.encode()
        out += struct.pack(">H", len(kb)) + kb + v
    return out + b"\x00\x00\x09"


def amf_strict_array(items):
    return b"\x0a" + struct.pack(">I", len(items)) + b"".join(items)


class Conn:
    def __init__(self, host, port):
        self.s = socket.create_connection((host, port), timeout=10)
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.rbuf = b""
        self.in_chunk = 128
        self.in_streams = {}  # csid -> [ts, len, type, sid, payload]
        self.messages = []    # (type, payload)

    def recv_exact(self, n):
        while len(self.rbuf) < n:
            d = self.s.recv(65536)
            if not d:
                raise ConnectionError("server closed the connection")
            self.rbuf += d
        out, self.rbuf = self.rbuf[:n], self.rbuf[n:]
        return out

    def handshake(self):
        c1 = struct.pack(">II", 0, 0) + os.urandom(1528)
        self.s.sendall(b"\x03" + c1)
        s0 = self.recv_exact(1)
        if s0 != b"\x03":
            raise ConnectionError("unexpected S0 %r" % s0)
        s1 = self.recv_exact(1536)
        self.recv_exact(1536)  # S2
        self.s.sendall(s1)     # C2 echoes S1

    def send(self, csid, mtype, sid, ts, payload):
        ts_field = min(ts, 0xFFFFFF)
        hdr = bytes([csid]) + struct.pack(">I", ts_field)[1:] + struct.pack(">I", len(payload))[1:]
        hdr += bytes([mtype]) + struct.pack("<I", sid)
        ext = struct.pack(">I", ts) if ts >= 0xFFFFFF else b""
        out = [hdr + ext + payload[:CHUNK]]
        for i in range(CHUNK, len(payload), CHUNK):
            out.append(bytes([0xC0 | csid]) + ext + payload[i:i + CHUNK])
        self.s.sendall(b"".join(out))

    def read_message(self):
        """Reads chunks until one message is complete; returns (type, payload)."""
        while True:
            b0 = self.recv_exact(1)[0]
            fmt, csid = b0 >> 6, b0 & 0x3F
            if csid == 0:
                csid = 64 + self.recv_exact(1)[0]
            elif csid == 1:
                x = self.recv_exact(2)
                csid = 64 + x[0] + 256 * x[1]
            st = self.in_streams.setdefault(csid, [0, 0, 0, 0, b""])
            if fmt <= 2:
                h = self.recv_exact([11, 7, 3][fmt])
                ts = int.from_bytes(h[0:3], "big")
                if fmt <= 1:
                    st[1] = int.from_bytes(h[3:6], "big")
                    st[2] = h[6]
                if fmt == 0:
                    st[3] = struct.unpack("<I", h[7:11])[0]
                if ts == 0xFFFFFF:
                    self.recv_exact(4)
            n = min(self.in_chunk, st[1] - len(st[4]))
            st[4] += self.recv_exact(n)
            if len(st[4]) >= st[1]:
                payload, st[4] = st[4], b""
                if st[2] == 1:
                    self.in_chunk = struct.unpack(">I", payload[:4])[0] & 0x7FFFFFFF
                    continue
                return st[2], payload

    def wait_for(self, needle, timeout=10):
        self.s.settimeout(timeout)
        while True:
            mtype, payload = self.read_message()
            if mtype in (20, 17) and b"error" in payload and b"_error" in payload:
                raise ConnectionError("server answered _error: %r" % payload[:200])
            if mtype in (20, 17) and needle in payload:
                return payload
            if mtype in (20, 17) and b"NetStream.Publish.BadName" in payload:
                raise ConnectionError("publish refused")


def access_units(annexb):
    """Splits an Annex B HEVC stream with AUDs into frames: lists of NAL units without the
    AUD and parameter-set NALs (those travel in the hvcC record)."""
    nals = []
    i, n = 0, len(annexb)
    starts = []
    while True:
        j = annexb.find(b"\x00\x00\x01", i)
        if j < 0:
            break
        starts.append(j + 3)
        i = j + 3
    for k, s in enumerate(starts):
        e = starts[k + 1] - 3 if k + 1 < len(starts) else n
        nal = annexb[s:e]
        while nal.endswith(b"\x00") and k + 1 < len(starts):
            nal = nal[:-1]
        nals.append(nal)
    aus, cur = [], []
    for nal in nals:
        t = (nal[0] >> 1) & 0x3F
        if t == 35:  # AUD: a new access unit
            if cur:
                aus.append(cur)
            cur = []
            continue
        if t in (32, 33, 34):
            continue
        cur.append(nal)
    if cur:
        aus.append(cur)
    return aus


def hvcc_from_mp4(data):
    i = data.find(b"hvcC")
    if i < 4:
        raise ValueError("no hvcC box in the mp4")
    size = struct.unpack(">I", data[i - 4:i])[0]
    return data[i + 4:i - 4 + size]


def main():
    host, port, app, key, mp4, hevc = sys.argv[1:7]
    fps = float(sys.argv[7]) if len(sys.argv) > 7 else 30.0
    loops = int(sys.argv[8]) if len(sys.argv) > 8 else 1
    hvcc = hvcc_from_mp4(open(mp4, "rb").read())
    aus = access_units(open(hevc, "rb").read())
    c = Conn(host, int(port))
    c.handshake()
    c.send(2, 1, 0, 0, struct.pack(">I", CHUNK))
    tc_url = "rtmp://%s:%s/%s" % (host, port, app)
    c.send(3, 20, 0, 0, amf_str("connect") + amf_num(1) + amf_obj([
        ("app", amf_str(app)), ("type", amf_str("nonprivate")),
        ("flashVer", amf_str("FMLE/3.0 (compatible; gavel-test)")), ("tcUrl", amf_str(tc_url)),
        ("fourCcList", amf_strict_array([amf_str("hvc1")]))]))
    c.wait_for(b"NetConnection.Connect.Success")
    c.send(3, 20, 0, 0, amf_str("releaseStream") + amf_num(2) + b"\x05" + amf_str(key))
    c.send(3, 20, 0, 0, amf_str("FCPublish") + amf_num(3) + b"\x05" + amf_str(key))
    c.send(3, 20, 0, 0, amf_str("createStream") + amf_num(4) + b"\x05")
    res = c.wait_for(b"_result\x00\x40\x10")  # _result for transaction 4
    sid = int(struct.unpack(">d", res[-8:])[0]) if res[-9] == 0 else 1
    c.send(4, 20, sid, 0, amf_str("publish") + amf_num(5) + b"\x05" + amf_str(key) +
           amf_str("live"))
    c.wait_for(b"NetStream.Publish.Start")
    print("publishing %d frames x %d" % (len(aus), loops), flush=True)
    c.s.settimeout(None)
    c.s.setblocking(True)
    seq = bytes([0x80 | (1 << 4) | 0]) + b"hvc1" + hvcc
    c.send(6, 9, sid, 0, seq)
    t0 = time.monotonic()
    frame = 0
    for _ in range(loops):
        for au in aus:
            key = any(16 <= ((n[0] >> 1) & 0x3F) <= 21 for n in au)
            ts = int(round(frame * 1000.0 / fps))
            body = b"".join(struct.pack(">I", len(n)) + n for n in au)
            if key:  # CodedFrames with a zero composition time
                tag = bytes([0x80 | (1 << 4) | 1]) + b"hvc1" + b"\x00\x00\x00"
            else:    # CodedFramesX
                tag = bytes([0x80 | (2 << 4) | 3]) + b"hvc1"
            delay = t0 + frame / fps - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            c.send(6, 9, sid, ts, tag + body)
            frame += 1
    c.send(4, 20, sid, 0, amf_str("deleteStream") + amf_num(6) + b"\x05" + amf_num(sid))
    c.s.close()
    print("done", flush=True)


if __name__ == "__main__":
    main()
