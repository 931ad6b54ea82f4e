#!/usr/bin/env bash
# Makes a county's software update key (once, on the machine that builds
# the releases; keep it there, never on a terminal):
#
#   image-build/update-key.sh DIR [NAME]
#
# Writes, in DIR:
#   keyring.pem      the CA certificate: built into every image as RAUC's
#                    keyring (/usr/share/kiosk/update-keyring.pem); a
#                    terminal installs only bundles signed under it
#   ca.key.pem       the CA's key (offline; makes a new signing certificate
#                    when the old one expires or leaks)
#   signing.cert.pem, signing.key.pem
#                    what `build.sh --update-key DIR` signs bundles with
# NAME is the county, written into the certificates (default: "Test county",
# for throw-away keys in tests). RSA 3072, SHA-256; the CA lasts 20 years,
# the signing certificate 5.
set -euo pipefail
dir=${1:?usage: $0 DIR [NAME]}
name=${2:-Test county}
mkdir -p "$dir"
cd "$dir"
[ ! -e ca.key.pem ] || { echo "$dir already holds an update key; not overwritten" >&2; exit 1; }
umask 077
openssl req -x509 -newkey rsa:3072 -nodes -sha256 -days 7300 \
    -keyout ca.key.pem -out keyring.pem -subj "/O=$name/CN=$name kiosk update CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
openssl req -newkey rsa:3072 -nodes -sha256 \
    -keyout signing.key.pem -out signing.csr -subj "/O=$name/CN=$name kiosk update signing" 2>/dev/null
printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature" \
    "extendedKeyUsage=codeSigning" "subjectKeyIdentifier=hash" "authorityKeyIdentifier=keyid" > signing.ext
openssl x509 -req -sha256 -days 1825 -in signing.csr -CA keyring.pem -CAkey ca.key.pem \
    -CAcreateserial -extfile signing.ext -out signing.cert.pem 2>/dev/null
rm -f signing.csr signing.ext keyring.srl
chmod 0644 keyring.pem signing.cert.pem
echo "update key in $dir: keyring.pem goes into the image; keep ca.key.pem offline"
