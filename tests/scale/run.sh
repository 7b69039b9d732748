#!/usr/bin/env bash
# Scale-out harness (issue 22): Redis with its append-only file, three replicas in HTTP caller
# mode behind HAProxy, an API stand-in, then a TLS Redis (rediss://) behind a private CA made
# here with openssl; see tests/scale/drive.py and docs/scale-out.md.
# Usage: tests/scale/run.sh [BINARY]   (default: target/debug/trekmail-mcp, built if missing)
set -euo pipefail
cd "$(dirname "$0")/../.."

missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v haproxy >/dev/null 2>&1 || missing+=(haproxy)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "install ${missing[*]} (Debian: apt-get install -y ${missing[*]}) and run again" >&2
    exit 1
  fi
  echo "installing ${missing[*]} from the distribution's packages"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

bin=${1:-target/debug/trekmail-mcp}
if [[ ! -x $bin ]]; then
  cargo build -p trekmail-mcp --locked --quiet
fi
# A private CA and a certificate for 127.0.0.1 signed by it, for the TLS store; valid one day.
tls=$(mktemp -d)
trap 'rm -rf "$tls"' EXIT
ec=(-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes)
openssl req -x509 "${ec[@]}" -keyout "$tls/ca.key" -out "$tls/ca.pem" -days 1 \
  -subj "/CN=trekmail-mcp scale test CA" -addext "basicConstraints=critical,CA:TRUE" \
  -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
openssl req "${ec[@]}" -keyout "$tls/redis.key" -out "$tls/redis.csr" -subj "/CN=127.0.0.1" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >"$tls/ext"
openssl x509 -req -in "$tls/redis.csr" -CA "$tls/ca.pem" -CAkey "$tls/ca.key" -CAcreateserial \
  -out "$tls/redis.pem" -days 1 -extfile "$tls/ext" 2>/dev/null
timeout 170 python3 tests/scale/drive.py "$bin" "$tls"
