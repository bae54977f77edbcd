#!/bin/sh
# Writes the certificates the TLS tests use into DIR, freshly, with the openssl command:
#
#   make_test_certs.sh DIR
#
#   ca.crt, ca.key                  the test CA
#   server.crt, server.key          the server, signed by the CA, for localhost and 127.0.0.1
#   client.crt, client.key          a client the CA trusts (mutual TLS)
#   other-ca.crt, other-ca.key      a CA nobody trusts
#   untrusted.crt, untrusted.key    a client signed by the other CA
#   server-encrypted.key            server.key under a passphrase (which the server refuses)
#
# P-256 keys (quick to make), unencrypted, valid for two days: every test run makes its own.
# The same commands, with longer lives, make real ones (docs/RELIABILITY.md).
set -eu
dir=$1
mkdir -p "$dir"
cd "$dir"
rm -f ./*.crt ./*.key ./*.csr ./*.srl

# A config of our own, so that the system's openssl.cnf adds nothing.
cat > openssl.cnf <<'EOF'
[req]
distinguished_name = dn
[dn]
[ca]
basicConstraints = critical, CA:true
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[server]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1
[client]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
EOF

key() {
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1.key" 2>/dev/null
}

# ca NAME SUBJECT: a self-signed CA.
ca() {
  key "$1"
  openssl req -config openssl.cnf -new -x509 -key "$1.key" -subj "$2" -days 2 \
    -extensions ca -out "$1.crt"
}

# leaf NAME SUBJECT CA EXTENSIONS: a certificate signed by CA.
leaf() {
  key "$1"
  openssl req -config openssl.cnf -new -key "$1.key" -subj "$2" -out "$1.csr"
  openssl x509 -req -in "$1.csr" -CA "$3.crt" -CAkey "$3.key" -CAcreateserial \
    -CAserial "$3.srl" -days 2 -extfile openssl.cnf -extensions "$4" -out "$1.crt" 2>/dev/null
  rm -f "$1.csr"
}

ca ca "/CN=routeserve test CA"
ca other-ca "/CN=routeserve untrusted test CA"
leaf server "/CN=localhost" ca server
leaf client "/CN=routeserve test client" ca client
leaf untrusted "/CN=routeserve untrusted client" other-ca client
openssl pkey -in server.key -aes256 -passout pass:routeserve -out server-encrypted.key
chmod 600 ./*.key
