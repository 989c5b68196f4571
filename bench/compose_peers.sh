#!/usr/bin/env bash
# Burn-in cost per frame of the peers next to gavel's composer, on the same 720p frames:
#   ffmpeg:    drawbox + drawtext (title, bid, leader, countdown) over testsrc2, yuv420p
#   GStreamer: textoverlay (the same lines, shaded background) over videotestsrc, I420
#   gavel:     compose_bench (card 640x200), steady state and with a timer tick each second
# Each peer pipeline runs with and without the overlay; the difference in CPU time
# (user + system, all threads) divided by the frame count is the overlay's cost. Every run is
# repeated REPEAT times and the fastest kept, which damps noise from other work on the machine.
#
#   bench/compose_peers.sh [--frames N] [--repeat N] [--height 720|1080] [--bench PATH]
#   bench/compose_peers.sh --png FILE     (one frame of the ffmpeg overlay, to look at)
set -euo pipefail

FRAMES=900
REPEAT=3
HEIGHT=720
BENCH=""
PNG=""
while [ $# -gt 0 ]; do
    case "$1" in
    --frames) FRAMES="$2"; shift 2 ;;
    --repeat) REPEAT="$2"; shift 2 ;;
    --height) HEIGHT="$2"; shift 2 ;;
    --bench) BENCH="$2"; shift 2 ;;
    -h | --help) sed -n '2,13p' "$0"; exit 0 ;;
    --png) PNG="$2"; shift 2 ;;
    *) echo "unknown option: $1" >&2; exit 2 ;;
    esac
done
case "$HEIGHT" in
720) WIDTH=1280 ;;
1080) WIDTH=1920 ;;
*) echo "--height must be 720 or 1080" >&2; exit 2 ;;
esac

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
if [ -z "$BENCH" ]; then
    for b in build-bench build-ovr-rel build; do
        if [ -x "$ROOT/$b/compose_bench" ]; then BENCH="$ROOT/$b/compose_bench"; break; fi
    done
fi
FONT=/usr/share/fonts/truetype/noto/NotoSans-Bold.ttf
FONT_R=/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf
for f in "$FONT" "$FONT_R"; do
    [ -r "$f" ] || { echo "missing font $f (apt install fonts-noto-core)" >&2; exit 1; }
done
command -v ffmpeg >/dev/null || { echo "ffmpeg not found" >&2; exit 1; }
command -v gst-launch-1.0 >/dev/null || { echo "gst-launch-1.0 not found" >&2; exit 1; }

# Card geometry scaled from the 720p reference, like gavel's (bottom-left, margin 24).
S=$(awk -v h="$HEIGHT" 'BEGIN { print h / 720 }')
px() { awk -v v="$1" -v s="$S" 'BEGIN { printf "%d", v * s + 0.5 }'; }
CX=$(px 24); CW=$(px 640); CH=$(px 200); CY=$((HEIGHT - $(px 24) - CH))
TX=$((CX + $(px 28)))

# --- ffmpeg: CPU seconds (user + sys) reported by -benchmark ---------------------------------
ffmpeg_cpu() { # $1 = filter chain after format=yuv420p ("" for the baseline)
    local vf="format=yuv420p${1:+,$1}" best="" out u s t
    for _ in $(seq "$REPEAT"); do
        out=$(timeout 300 ffmpeg -nostdin -hide_banner -benchmark -threads 1 -filter_threads 1 \
            -f lavfi -i "testsrc2=size=${WIDTH}x${HEIGHT}:rate=30" -frames:v "$FRAMES" \
            -vf "$vf" -f null - 2>&1 | grep 'bench: utime')
        u=$(sed -n 's/.*utime=\([0-9.]*\)s.*/\1/p' <<<"$out")
        s=$(sed -n 's/.*stime=\([0-9.]*\)s.*/\1/p' <<<"$out")
        t=$(awk -v u="$u" -v s="$s" 'BEGIN { print u + s }')
        best=$(awk -v a="$best" -v b="$t" 'BEGIN { print (a == "" || b < a) ? b : a }')
    done
    echo "$best"
}

DT="fontfile=$FONT:fontcolor=white"
DTR="fontfile=$FONT_R:fontcolor=0xA8AEB8"
Y_TITLE=$((CY + $(px 50))); Y_BID=$((CY + $(px 104))); Y_LINE=$((CY + $(px 160)))
X_TIMER=$((CX + CW - $(px 120)))
TIMER_TEXT='0\:%{eif\:mod(59-floor(t)\,60)\:d\:2}'
FF_CHAIN="drawbox=x=$CX:y=$CY:w=$CW:h=$CH:color=0x14161C@0.86:t=fill"
FF_CHAIN+=",drawbox=x=$CX:y=$CY:w=$(px 6):h=$CH:color=0xFFC400@1:t=fill"
FF_CHAIN+=",drawtext=$DT:fontsize=$(px 21):x=$TX:y=$Y_TITLE"
FF_CHAIN+=":text='1986 Fleer RC Clyde Drexler BGS 8.5 Auto'"
FF_CHAIN+=",drawtext=$DT:fontsize=$(px 42):x=$TX:y=$Y_BID:text='\$1,250.00'"
FF_CHAIN+=",drawtext=$DTR:fontsize=$(px 16):x=$TX:y=$Y_LINE:text='@drexler_fan  23 bids'"
FF_CHAIN+=",drawtext=$DT:fontsize=$(px 42):x=$X_TIMER:y=$Y_BID:text='$TIMER_TEXT'"

if [ -n "$PNG" ]; then
    ffmpeg -nostdin -hide_banner -loglevel error -y -f lavfi \
        -i "testsrc2=size=${WIDTH}x${HEIGHT}:rate=30" -ss 17 -frames:v 1 \
        -vf "format=yuv420p,$FF_CHAIN" "$PNG"
    echo "wrote $PNG"
    exit 0
fi

# --- GStreamer: CPU seconds of the whole gst-launch process ----------------------------------
gst_cpu() { # "$@" = element(s) and "!" between the caps and fakesink (none for the baseline)
    local best="" t
    for _ in $(seq "$REPEAT"); do
        t=$( { /usr/bin/time -f '%U %S' timeout 300 gst-launch-1.0 -q videotestsrc \
            num-buffers="$FRAMES" pattern=colors ! \
            "video/x-raw,format=I420,width=$WIDTH,height=$HEIGHT,framerate=30/1" ! \
            "$@" fakesink sync=false >/dev/null; } 2>&1 | tail -1 | awk '{ print $1 + $2 }')
        best=$(awk -v a="$best" -v b="$t" 'BEGIN { print (a == "" || b < a) ? b : a }')
    done
    echo "$best"
}

# gst-launch joins its arguments and parses them again: values with spaces or newlines need
# their own double quotes.
GST_TEXT='1986 Fleer RC Clyde Drexler BGS 8.5 Auto
$1,250.00                0:42
@drexler_fan · 23 bids'
GST_EL=(textoverlay "text=\"$GST_TEXT\"" "font-desc=\"Noto Sans Bold $(px 16)\""
        shaded-background=true valignment=bottom halignment=left "xpad=$CX" "ypad=$(px 24)" !)

per_frame() {
    awk -v a="$1" -v b="$2" -v n="$FRAMES" 'BEGIN { printf "%.4f", (a - b) * 1000 / n }'
}

echo "overlay burn-in cost per frame at ${WIDTH}x${HEIGHT}, $FRAMES frames, best of $REPEAT"
echo "(CPU time with the overlay minus without it, divided by frames)"

ff_base=$(ffmpeg_cpu "")
ff_with=$(ffmpeg_cpu "$FF_CHAIN")
ff_ms=$(per_frame "$ff_with" "$ff_base")

gst_base=$(gst_cpu)
gst_with=$(gst_cpu "${GST_EL[@]}")
gst_ms=$(per_frame "$gst_with" "$gst_base")

gv_steady="" gv_tick=""
if [ -n "$BENCH" ] && [ -x "$BENCH" ]; then
    out=$(timeout 300 "$BENCH" "$FRAMES")
    gv_steady=$(awk -v h="${HEIGHT}p" '$1 == h && $2 == "steady" { print $5 }' <<<"$out")
    gv_tick=$(awk -v h="${HEIGHT}p" '$1 == h && $2 == "timer" { print $6 }' <<<"$out")
else
    echo "compose_bench not found (build it, or pass --bench PATH): peers only"
fi

printf '\n%-44s %12s %14s\n' "pipeline" "ms/frame" "x gavel tick"
row() {
    local ratio="-"
    if [ -n "$gv_tick" ]; then
        ratio=$(awk -v a="$2" -v b="$gv_tick" 'BEGIN { printf "%.1fx", a / b }')
    fi
    printf '%-44s %12s %14s\n' "$1" "$2" "$ratio"
}
[ -n "$gv_steady" ] && row "gavel compose, steady (no change)" "$gv_steady"
[ -n "$gv_tick" ] && row "gavel compose, timer tick each second" "$gv_tick"
row "ffmpeg drawbox x2 + drawtext x4" "$ff_ms"
row "GStreamer textoverlay (shaded background)" "$gst_ms"
