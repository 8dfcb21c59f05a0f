#!/usr/bin/env bash
# TLS from the agent to a real mosquitto: a TLS listener with a CA and server certificate made
# here with openssl, requiring client certificates. The agent with the CA and its client
# certificate gets its samples to the hub (which uses the plain listener); a wrong CA, a
# missing client certificate and a wrong password are refused and the agent says why; with
# verification off a wrong CA is accepted. A plain agent does not map OpenSSL at all.
source "$(dirname "$0")/lib.sh"

C=$WORK/certs
mkdir -p "$C"
mkcert() { # NAME CN [SAN]: a key and a certificate signed by the test CA
    openssl req -newkey rsa:2048 -nodes -keyout "$C/$1.key" -out "$C/$1.csr" -subj "/CN=$2" 2>/dev/null &&
        printf 'subjectAltName=%s\n' "${3:-DNS:$2}" >"$C/$1.ext" &&
        openssl x509 -req -in "$C/$1.csr" -CA "$C/ca.crt" -CAkey "$C/ca.key" -CAcreateserial \
            -days 2 -extfile "$C/$1.ext" -out "$C/$1.crt" 2>/dev/null
}
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$C/ca.key" -out "$C/ca.crt" -days 2 \
    -subj "/CN=updraft test CA" 2>/dev/null
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$C/other-ca.key" -out "$C/other-ca.crt" \
    -days 2 -subj "/CN=some other CA" 2>/dev/null
mkcert server localhost "DNS:localhost,IP:127.0.0.1"
mkcert client tls-good
check "test certificates made with openssl" test -s "$C/server.crt" -a -s "$C/client.crt"
mosquitto_passwd -b -c "$C/passwd" agent s3cret 2>/dev/null
chmod 0644 "$C"/*

TLS_PORT=$(free_port)
BROKER_EXTRA="password_file $C/passwd
listener $TLS_PORT 127.0.0.1
cafile $C/ca.crt
certfile $C/server.crt
keyfile $C/server.key
require_certificate true"
start_broker || exit 1
start_hub || exit 1
tls_agent() { # HOST [flags...]
    local host=$1
    shift
    start_agent "$host" --mqtt.port="$TLS_PORT" --mqtt.tls=true --agent.interval=1s \
        --agent.collectors=cpu,mem "$@"
}
has_samples() {
    curl -fs "$API/api/v1/metrics/query?host_id=$1&metric=mem.used_pct&range=5m" |
        jq -e '.datapoints | length > 0' >/dev/null
}

tls_agent tls-good --mqtt.ca_file="$C/ca.crt" --mqtt.cert_file="$C/client.crt" \
    --mqtt.key_file="$C/client.key"
check "an agent with the CA and a client certificate delivers over TLS" wait_until 20 has_samples tls-good
check "it logs an ssl:// connection" grep -q "connected to ssl://127.0.0.1:$TLS_PORT" "$WORK/agent-tls-good.log"
pid=${PIDS[agent-tls-good]}
check "the TLS agent loaded paho's TLS build" grep -q libpaho-mqtt3cs "/proc/$pid/maps"

tls_agent tls-pass --mqtt.ca_file="$C/ca.crt" --mqtt.cert_file="$C/client.crt" \
    --mqtt.key_file="$C/client.key" --mqtt.username=agent --mqtt.password=s3cret
check "user name and password over TLS are accepted" wait_until 20 has_samples tls-pass
tls_agent tls-badpass --mqtt.ca_file="$C/ca.crt" --mqtt.cert_file="$C/client.crt" \
    --mqtt.key_file="$C/client.key" --mqtt.username=agent --mqtt.password=wrong
tls_agent tls-wrongca --mqtt.ca_file="$C/other-ca.crt" --mqtt.cert_file="$C/client.crt" \
    --mqtt.key_file="$C/client.key"
tls_agent tls-nocert --mqtt.ca_file="$C/ca.crt"
tls_agent tls-noverify --mqtt.ca_file="$C/other-ca.crt" --mqtt.cert_file="$C/client.crt" \
    --mqtt.key_file="$C/client.key" --mqtt.tls_verify=false
check "with verification off a broker certificate from another CA is accepted" wait_until 20 has_samples tls-noverify
for h in tls-badpass tls-wrongca tls-nocert; do
    check "$h: the agent says it cannot connect" wait_until 15 grep -q "cannot connect to ssl://" "$WORK/agent-$h.log"
    check "$h: and nothing of it reaches the hub" bash -c "! curl -fs '$API/api/v1/hosts' | jq -e '.hosts[] | select(.id == \"$h\")' >/dev/null"
    check "$h: it keeps running and retrying" kill -0 "${PIDS[agent-$h]}"
done
check "the wrong password is refused as not authorised" grep -qiE "refused|authori" "$WORK/agent-tls-badpass.log"

start_agent plain-1 --agent.interval=1s --agent.collectors=cpu,mem
check "a plain agent delivers too" wait_until 20 has_samples plain-1
pid=${PIDS[agent-plain-1]}
check "a plain agent maps no OpenSSL" bash -c "! grep -qE 'libssl|libcrypto' /proc/$pid/maps"
finish
