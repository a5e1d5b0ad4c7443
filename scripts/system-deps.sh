#!/usr/bin/env bash
# Install the Debian packages Emberwatch needs and that are missing.
#   run:  what `make run` needs (a Python venv)
#   test: plus a real RTSP server (gst-rtsp-server), Chromium and a CJK font for the console
#         tests, a PostgreSQL server for the storage tests, an MQTT broker for the alert tests,
#         a NATS server (JetStream) for the scale-out tests
set -euo pipefail
want=(python3-venv)
if [ "${1:-run}" = test ]; then
  want+=(gstreamer1.0-rtsp gir1.2-gst-rtsp-server-1.0 python3-gi gstreamer1.0-plugins-base
         gstreamer1.0-plugins-good gstreamer1.0-plugins-bad chromium fonts-wqy-zenhei postgresql
         mosquitto nats-server)
fi
missing=()
for pkg in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing Debian packages: ${missing[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
