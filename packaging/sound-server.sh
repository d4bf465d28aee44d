#!/usr/bin/env bash
# Start a PulseAudio server with virtual devices, for tests and benchmarks on machines with no
# sound card (CI). Idempotent: does nothing when a server answers and the devices exist.
#   vsink      the virtual speaker: what Heron plays is recorded from vsink.monitor
#   vmic       a sink that plays into the virtual microphone: `paplay --device=vmic speech.wav`
#   vmic_src   the virtual microphone (vmic.monitor remapped into a real-looking source)
# Defaults are set to vsink and vmic_src, so the "pulse"/"default" PortAudio devices use them.
# Needs: pulseaudio pulseaudio-utils libasound2-plugins (apt).
set -euo pipefail

say() { printf 'sound-server: %s\n' "$*" >&2; }

command -v pulseaudio >/dev/null && command -v pactl >/dev/null || {
  say "pulseaudio is not installed: apt-get install pulseaudio pulseaudio-utils libasound2-plugins"; exit 2; }

has() { pactl list short "$1" 2>/dev/null | cut -f2 | grep -qx "$2"; }

if ! pactl info >/dev/null 2>&1; then
  # Root is refused a per-user server unless told otherwise; --system=false keeps it per-user.
  # Real-time scheduling (where allowed, e.g. as root) keeps the virtual devices' timing steady
  # on a busy machine, as a real sound card's would be: the echo canceller depends on it.
  pulseaudio -D --exit-idle-time=-1 --system=false -n --high-priority=yes --realtime=yes \
    --load=module-native-protocol-unix --load=module-always-sink 2>/dev/null || true
  for _ in $(seq 50); do pactl info >/dev/null 2>&1 && break; sleep 0.1; done
  pactl info >/dev/null 2>&1 || { say "the PulseAudio server did not start"; exit 2; }
fi

has sinks vsink || pactl load-module module-null-sink sink_name=vsink >/dev/null
has sinks vmic || pactl load-module module-null-sink sink_name=vmic >/dev/null
has sources vmic_src || pactl load-module module-remap-source master=vmic.monitor source_name=vmic_src >/dev/null
pactl set-default-sink vsink
pactl set-default-source vmic_src
say "ready: speaker vsink (record vsink.monitor), microphone vmic_src (play into vmic)"
