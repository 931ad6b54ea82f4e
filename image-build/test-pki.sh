#!/usr/bin/env bash
# Throw-away keys and a provisioning file for a test image, in one command
# (the boot test uses it; never for a real deployment):
#
#   image-build/test-pki.sh DIR
#
# Writes, in DIR:
#   provisioning.key, provisioning.pub   `kiosk provision keygen`
#   update/                              update-key.sh: the update keyring and signing key
#   registry-keys/                       `registry --init-keys`: the sealing key pair
#   ca.pem, ca.key                       a test CA for the registry's TLS and the client
#   client.pem, client.key               an X.509 v3 client certificate of terminal boot-test-01
#   server.pem, server.key               the registry's TLS certificate for 10.0.2.2 (the host as
#                                        QEMU's user network shows it) and 127.0.0.1
#   staff.token                          a staff bearer token for the test's registry
#   tests-provision.toml                 `kiosk provision make`, signed with provisioning.key,
#                                        for terminal boot-test-01 at https://10.0.2.2:8743 (the
#                                        boot test's registry on the host; registrations stay
#                                        queued until it runs)
# Then: image-build/build.sh --provisioning-key DIR/provisioning.pub --update-key DIR/update \
#           --fast --test-hooks --provision DIR/tests-provision.toml
# Uses the kiosk and registry binaries of this checkout (built when missing).
set -euo pipefail
dir=${1:?usage: $0 DIR}
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/var/tmp/kiosk-target}
kiosk=$CARGO_TARGET_DIR/debug/kiosk
registry=$CARGO_TARGET_DIR/debug/registry
[ -x "$kiosk" ] && [ -x "$registry" ] || (cd "$repo" && cargo build -q -p kiosk -p registry --bins)
[ ! -e "$dir/provisioning.key" ] || { echo "$dir already holds test keys; not overwritten" >&2; exit 1; }
mkdir -p "$dir"
cd "$dir"
umask 077

"$kiosk" provision keygen --out . >/dev/null
"$here/update-key.sh" update "Boot test" >/dev/null
"$registry" --init-keys registry-keys >/dev/null

# A CA, and a v3 client certificate (the uplink's TLS refuses v1).
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
    -keyout ca.key -out ca.pem -subj "/CN=boot test CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout client.key -out client.csr -subj "/CN=boot-test-01" 2>/dev/null
printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature" \
    "extendedKeyUsage=clientAuth" > client.ext
openssl x509 -req -days 30 -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
    -extfile client.ext -out client.pem 2>/dev/null
rm -f client.csr client.ext ca.srl
# The registry's server certificate, for the host as the guest and the host see it.
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout server.key -out server.csr -subj "/CN=boot test registry" 2>/dev/null
printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature" \
    "extendedKeyUsage=serverAuth" "subjectAltName=IP:10.0.2.2,IP:127.0.0.1" > server.ext
openssl x509 -req -days 30 -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
    -extfile server.ext -out server.pem 2>/dev/null
rm -f server.csr server.ext ca.srl
head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' > staff.token

"$kiosk" provision make --terminal-id boot-test-01 --hall-name "启动测试大厅" \
    --registry-url https://10.0.2.2:8743 --registry-ca ca.pem \
    --registry-public-key "$(ls registry-keys/seal.public* | head -n 1)" \
    --client-cert client.pem --client-key client.key \
    --signing-key provisioning.key --out tests-provision.toml >/dev/null
chmod 0644 provisioning.pub
echo "test keys and tests-provision.toml in $dir"
