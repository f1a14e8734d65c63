#!/usr/bin/env bash
# Drive the real app under Xvfb like a person and save screenshots of each screen.
# Usage: scripts/screenshot-tour.sh [OUT_DIR]   (needs xvfb, xdotool and imagemagick)
set -euo pipefail
if [[ -z "${TOUR_UNDER_XVFB:-}" ]]; then
    TOUR_UNDER_XVFB=1 exec xvfb-run -a -s "-screen 0 1100x720x24" "$0" "$@"
fi
out=${1:-docs/screenshots}
mkdir -p "$out"
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
export FIELDAPP_HOME=$profile
pass="copper kettle under the blue bridge"

shot() {
    # Capture the FieldApp window only, not the whole virtual screen.
    import -window "$(xdotool search --name "${2:-^FieldApp$}" | head -1)" "$out/$1"
}

focus() {
    # There is no window manager on Xvfb: give the window the keyboard focus ourselves, or Qt
    # never sees it as active and shortcuts and mnemonics do not reach it.
    xdotool search --name "$1" windowfocus --sync
}

tour() {
    local app
    .venv/bin/fieldapp & app=$!
    sleep 3
    focus "^FieldApp$"
    shot 01-create-profile-empty.png
    xdotool type --delay 15 "password1234"
    sleep 0.5; shot 02-create-profile-refused.png
    xdotool key ctrl+a; xdotool type --delay 15 "$pass"; xdotool key Tab
    xdotool type --delay 15 "$pass"
    sleep 0.5; shot 03-create-profile-good.png
    xdotool key Return; sleep 2
    xdotool key alt+b; sleep 1.5          # Back up now
    shot 04-profile-open.png
    xdotool key alt+p; sleep 1            # Change passphrase…
    focus "^Change passphrase$"
    xdotool type --delay 10 "$pass"; xdotool key Tab; xdotool type --delay 10 "short one"
    sleep 0.5; import -window root "$out/05-change-passphrase.png"
    xdotool key Escape; sleep 0.5
    focus "^FieldApp$"
    xdotool key ctrl+l; sleep 2
    for attempt in 1 2 3; do
        xdotool type --delay 10 "not my passphrase at all"; xdotool key Return; sleep 1
    done
    shot 06-unlock-wrong-and-waiting.png
    sleep 5
    xdotool key ctrl+a; xdotool type --delay 10 "$pass"; xdotool key Return; sleep 2
    xdotool key ctrl+l; sleep 2
    head -c 8192 /dev/zero > "$FIELDAPP_HOME/fieldapp.sqlite3"   # the disk fails overnight
    xdotool type --delay 10 "$pass"; xdotool key Return; sleep 2
    shot 07-damaged-database-offers-restore.png
    kill "$app"; wait "$app" || true
}

tour
echo "screenshots in $out"
