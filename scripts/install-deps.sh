#!/usr/bin/env bash
# Installs the Debian 12 packages the workspace needs to build, test and run
# its demo, when they are missing. Runs apt only if something is missing.
set -euo pipefail

packages=(
  build-essential pkg-config clang libclang-dev   # C toolchain; bindgen for OpenCV and Tesseract
  libopencv-dev                                   # document camera and page processing
  libtesseract-dev libleptonica-dev tesseract-ocr-chi-sim  # OCR and its simplified-Chinese model
  libudev-dev                                     # serialport
  libpcsclite-dev pcscd vsmartcard-vpcd           # PC/SC card readers; vpcd gives tests a virtual reader
  libfontconfig1-dev libxkbcommon-dev fonts-noto-cjk       # Slint UI and CJK text
  xvfb xauth                                      # demo on a machine without a screen
  espeak-ng alsa-utils                            # spoken prompts: synthesised at build time, played with aplay
  libasound2-dev libopus-dev                       # voice notes: ALSA capture, Opus encoding (kiosk/voice)
  python3-jieba                                   # jieba's word list: the pinyin input's table (kiosk/ime/build.rs)
  systemd udev                                    # appliance tests: systemd-analyze verify, udevadm test
  iproute2                                        # slow-link test: ip netns, tc (tbf or netem)
  jq python3                                      # check-invariants.sh: cargo metadata, module-cycles.py
  python3-venv curl                               # fuzz-registry.sh: schemathesis in a venv, the health probe
  python3-pip                                     # pip download: the PP-OCR models' wheel (below)
  chromium chromium-driver                        # the registry's staff console in a real browser (console_browser.rs)
  postgresql                                      # the registry's tests and load generator on PostgreSQL (their own cluster; initdb as `postgres` when root)
  rauc squashfs-tools openssl                     # update bundles: made, signed and checked in tests/tests/bundle.rs
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# schemathesis (PyPI, pinned) in a venv of its own, for scripts/fuzz-registry.sh;
# nothing is fetched when the pinned version is already there.
schemathesis_version=4.32.5
venv="${SCHEMATHESIS_VENV:-/var/tmp/kiosk-schemathesis}"
if [ "$("$venv/bin/schemathesis" --version 2>/dev/null)" != "schemathesis, version $schemathesis_version" ]; then
  echo "installing schemathesis $schemathesis_version into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$schemathesis_version"
fi

# PP-OCR's ONNX models (kiosk/ocr/src/pp): det, rec and cls from PyPI's
# rapidocr wheel, pinned by version and sha256; only the model files and the
# licence notices are kept, in a fixed system folder. ocr-models/verify.sh checks
# every model of ocr-models/manifest.toml; nothing is fetched when they match.
ppocr_dir=/usr/local/share/kiosk/ocr-models/ppocr
ppocr_wheel=rapidocr-3.10.0-py3-none-any.whl
ppocr_wheel_sha256=2fc34e26cd0f48514804a94f8832283039c7334076bff60768b1fed9ad068050
verify="$(dirname "$0")/../ocr-models/verify.sh"
if ! "$verify" >/dev/null 2>&1; then
  echo "installing the PP-OCR models from $ppocr_wheel into $ppocr_dir"
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  python3 -m pip download --quiet --disable-pip-version-check --no-deps \
    --only-binary=:all: --dest "$tmp" "rapidocr==3.10.0"
  echo "$ppocr_wheel_sha256  $tmp/$ppocr_wheel" | sha256sum --check --quiet
  python3 -m zipfile -e "$tmp/$ppocr_wheel" "$tmp/wheel"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo install -d -m 0755 "$ppocr_dir"
  $sudo install -m 0644 "$tmp"/wheel/rapidocr/models/*.onnx \
    "$tmp"/wheel/rapidocr-3.10.0.dist-info/licenses/LICENSE \
    "$tmp"/wheel/rapidocr-3.10.0.dist-info/licenses/MODEL_LICENSES.md "$ppocr_dir/"
  "$verify"
fi

if ! command -v cargo >/dev/null 2>&1; then
  echo "cargo not found: install Rust (rustup, stable) first" >&2
  exit 1
fi
