#!/bin/bash
# Creates the TLS material for flowcred's tests in DIR, all with EC P-256 keys:
#   ca.pem, ca.key               test CA that signs everything below
#   server.pem, server.key       CN localhost, SAN IP:127.0.0.1 and DNS:localhost
#   other-ca.pem, other-ca.key   an unrelated CA (a client trusting it must fail)
#   wrong-host.pem, wrong-host.key  signed by ca, SAN DNS:wrong.example only
#   expired.pem, expired.key     signed by ca, SAN as server.pem, valid only
#                                from 2020-01-01 to 2020-01-02
#
# Usage: make-certs.sh DIR

set -euo pipefail

if [ $# -ne 1 ]; then
	echo "usage: make-certs.sh DIR" >&2
	exit 2
fi

dir=$1
mkdir -p "$dir"
work=$(mktemp -d "$dir/.make-certs.XXXXXX")
trap 'rm -rf "$work"' EXIT

config=$work/openssl.cnf
cat >"$config" <<EOF
[ req ]
distinguished_name = req_dn
prompt = no

[ req_dn ]
CN = placeholder

[ v3_ca ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash

[ v3_server ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = IP:127.0.0.1, DNS:localhost

[ v3_wrong_host ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = DNS:wrong.example

# "openssl ca" is the only OpenSSL 3.0 command that takes explicit
# validity dates (x509 -not_before/-not_after arrived in 3.4).
[ ca ]
default_ca = test_ca

[ test_ca ]
database = $work/index.txt
new_certs_dir = $work
serial = $work/serial
default_md = sha256
policy = policy_any
unique_subject = no
copy_extensions = none

[ policy_any ]
commonName = supplied
EOF
: >"$work/index.txt"
openssl rand -hex 8 >"$work/serial"

# make_ca NAME SUBJECT: a self-signed CA valid for ten years.
make_ca() {
	openssl req -x509 -new -config "$config" -extensions v3_ca \
		-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$dir/$1.key" -out "$dir/$1.pem" -days 3650 -subj "$2" 2>/dev/null
}

# make_request NAME CN: a key and a certificate signing request.
make_request() {
	openssl req -new -config "$config" \
		-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$dir/$1.key" -out "$work/$1.csr" -subj "/CN=$2" 2>/dev/null
}

# sign NAME EXTENSIONS: signs NAME's request with the test CA for 825 days.
sign() {
	openssl x509 -req -in "$work/$1.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" \
		-set_serial "0x$(openssl rand -hex 8)" -days 825 -sha256 \
		-extfile "$config" -extensions "$2" -out "$dir/$1.pem" 2>/dev/null
}

make_ca ca "/CN=flowcred test CA"
make_ca other-ca "/CN=flowcred unrelated CA"

make_request server localhost
sign server v3_server

make_request wrong-host wrong.example
sign wrong-host v3_wrong_host

make_request expired localhost
openssl ca -batch -config "$config" -cert "$dir/ca.pem" -keyfile "$dir/ca.key" \
	-in "$work/expired.csr" -out "$dir/expired.pem" -notext \
	-startdate 20200101000000Z -enddate 20200102000000Z \
	-extfile "$config" -extensions v3_server 2>/dev/null

chmod 600 "$dir"/*.key
