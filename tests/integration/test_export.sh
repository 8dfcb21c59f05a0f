#!/usr/bin/env bash
# CSV export through the real broker and hub: known data exported and parsed back with
# Python's csv module (header, every timestamp and value exactly, RFC 4180 quoting of labels
# and text, CRLF), range/from/to selecting rows, signed download links (same bytes as the
# direct export, tampered 403, expired 410, links that die with a restart unless
# [api] export_secret_file is set), every 400/404, and a large export streamed whole while the
# hub's peak memory stays far below the size of the CSV.
source "$(dirname "$0")/lib.sh"

PUBLISHER=$BUILD/tests/tools/acking_publisher
start_broker || exit 1
start_hub || exit 1
pub() { mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 -V mqttv5 "$@"; }

# 30 samples of e.val, 10 s apart from a minute boundary 20 min ago; values that need 1 to 17
# significant digits. A labelled series (a quote and a comma in a label value) with text and
# boolean values.
T0=$(( ($(date +%s) - 1200) / 60 * 60 ))
VALUES=(0 0.1 -0.5 1e-07 123456.789 3.141592653589793 0.30000000000000004 -273.15 42 1e+21
        2.5 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 1.7976931348623157e+308)
recs="{\"bn\":\"e-1/\",\"bt\":$T0,\"n\":\"e.val\",\"t\":0,\"v\":${VALUES[0]}}"
for i in $(seq 1 29); do recs="$recs,{\"n\":\"e.val\",\"t\":$((i * 10)),\"v\":${VALUES[$i]}}"; done
pub -t updraft/v1/e-1/metrics -m "[$recs]"
pub -t updraft/v1/e-1/metrics -m "[{\"bn\":\"e-1/\",\"bt\":$T0,\"n\":\"e.note\",\"vs\":\"a,b \\\"c\\\"\\nd\",\"note\":\"q\\\"x,y\",\"zone\":\"a\"},{\"n\":\"e.note\",\"t\":1,\"vb\":true,\"note\":\"q\\\"x,y\",\"zone\":\"a\"},{\"n\":\"e.note\",\"t\":2,\"vs\":\"\",\"note\":\"q\\\"x,y\",\"zone\":\"a\"}]"
check "the data arrives" wait_until 10 bash -c "curl -fs '$API/api/v1/metrics/query?host_id=e-1&metric=e.note&labels=%7B%22note%22%3A%22q%5C%22x%2Cy%22%2C%22zone%22%3A%22a%22%7D' | jq -e '.datapoints | length == 3' >/dev/null"

# get PATH NAME: body to $WORK/NAME.csv, headers to $WORK/NAME.h; prints the status.
get() { curl -s -D "$WORK/$2.h" -o "$WORK/$2.csv" -w '%{http_code}' "$API$1"; }
header() { tr -d '\r' <"$WORK/$1.h" | sed -n "s/^$2: //Ip"; }

# csv_check NAME HOST METRIC LABELS FIRST LAST: the rows are points FIRST..LAST of e.val.
cat >"$WORK/check.py" <<'PY'
import csv, io, sys, datetime
name, host, metric, labels, first, last, t0 = sys.argv[1:8]
values = sys.argv[8:]
raw = open(name, 'rb').read()
rows = list(csv.reader(io.StringIO(raw.decode('utf-8'), newline='')))
assert raw.endswith(b'\r\n') and raw.count(b'\n') == raw.count(b'\r\n'), 'CRLF line ends'
assert rows[0] == ['timestamp', 'host_id', 'metric', 'unit', 'labels', 'value'], rows[0]
want = list(range(int(first), int(last) + 1))
assert len(rows) - 1 == len(want), (len(rows) - 1, len(want))
for row, i in zip(rows[1:], want):
    ts = datetime.datetime.fromtimestamp(int(t0) + 10 * i, datetime.timezone.utc)
    assert row[0] == ts.strftime('%Y-%m-%dT%H:%M:%S.000Z'), (row[0], i)
    assert row[1:5] == [host, metric, '', labels], row
    assert float(row[5]) == float(values[i]), (row[5], values[i])
PY
csv_check() { python3 "$WORK/check.py" "$WORK/$1.csv" e-1 e.val "" "$2" "$3" "$T0" "${VALUES[@]}"; }

status=$(get "/api/v1/export?host_id=e-1&metric=e.val&range=1h&format=csv" all)
check "export is 200 text/csv" test "$status $(header all Content-Type)" = "200 text/csv; charset=utf-8"
# The file name's time is the window's start, now - 1h (give or take the test's own delay).
attachment_ok() {
    local disp
    disp=$(header all Content-Disposition)
    [[ $disp =~ ^attachment\;\ filename=\"e-1_e\.val_([0-9]{8})T([0-9]{6})Z\.csv\"$ ]] || return 1
    local t
    t=$(date -u -d "${BASH_REMATCH[1]} ${BASH_REMATCH[2]:0:2}:${BASH_REMATCH[2]:2:2}:${BASH_REMATCH[2]:4:2}" +%s)
    local off=$(( $(date +%s) - 3600 - t ))
    [ "$off" -ge 0 ] && [ "$off" -le 60 ]
}
check "it is an attachment named host_metric_from.csv" attachment_ok
check "the header row and every timestamp and value come back exactly" csv_check all 0 29
numbers_as_text() {
    local v
    for v in 0.1 0.30000000000000004 123456.789 1e-07 1.7976931348623157e+308; do
        grep -qF ",$v"$'\r' "$WORK/all.csv" || return 1
    done
}
check "numbers are printed short when 15 digits give them back, else with 16-17" numbers_as_text
check "format defaults to csv" test "$(get "/api/v1/export?host_id=e-1&metric=e.val" dflt)" = 200
check "the default is the same CSV" cmp -s "$WORK/all.csv" "$WORK/dflt.csv"

from=$(date -u -d "@$((T0 + 60))" +%Y-%m-%dT%H:%M:%SZ)
to=$(date -u -d "@$((T0 + 119))" +%Y-%m-%dT%H:%M:%SZ)
get "/api/v1/export?host_id=e-1&metric=e.val&from=$from&to=$to" rfc >/dev/null
check "from/to in RFC 3339 select [T0+60s, T0+119s]" csv_check rfc 6 11
get "/api/v1/export?host_id=e-1&metric=e.val&from=$((T0 + 60))&to=$((T0 + 120))" unix >/dev/null
check "from/to in unix seconds select the same, both ends inclusive" csv_check unix 6 12
get "/api/v1/export?host_id=e-1&metric=e.val&from=$((T0 + 250))" open >/dev/null
check "from without to runs until now" csv_check open 25 29
get "/api/v1/export?host_id=e-1&metric=e.val&range=15m" recent >/dev/null
check "range=15m leaves out the older points" test "$(wc -l <"$WORK/recent.csv")" -lt 31

labels_q='%7B%22note%22%3A%22q%5C%22x%2Cy%22%2C%22zone%22%3A%22a%22%7D'
get "/api/v1/export?host_id=e-1&metric=e.note&labels=$labels_q" notes >/dev/null
check "labels and text with commas, quotes and newlines are quoted (RFC 4180)" python3 - "$WORK/notes.csv" <<'PY'
import csv, io, sys
raw = open(sys.argv[1], 'rb').read()
rows = list(csv.reader(io.StringIO(raw.decode('utf-8'), newline='')))
assert [r[4] for r in rows[1:]] == ['note=q"x%2Cy,zone=a'] * 3, rows
assert [r[5] for r in rows[1:]] == ['a,b "c"\nd', 'true', ''], rows
assert b'"note=q""x%2Cy,zone=a","a,b ""c""\nd"\r\n' in raw, raw
PY
same_as() { curl -fs "$API$1" | cmp -s - "$WORK/$2.csv"; }
check "labels in the stored k=v form select the same series" same_as "/api/v1/export?host_id=e-1&metric=e.note&labels=note=q%22x%252Cy,zone=a" notes

# Signed links.
link() { curl -s -o "$WORK/link.json" -w '%{http_code}' -X POST -H 'Content-Type: application/json' -d "$1" "$API/api/v1/reports/export"; }
status=$(link "{\"format\":\"csv\",\"host_id\":\"e-1\",\"metric\":\"e.val\",\"range\":\"1h\"}")
# expires_in_s: seconds from now to the expires_at of the last link.
expires_in_s() { echo $(( $(jq -r '.expires_at | sub("\\.[0-9]+"; "") | fromdateiso8601' "$WORK/link.json") - $(date +%s) )); }
link_ok() {
    [ "$status" = 200 ] &&
        jq -e '(.url | test("^/api/v1/export/download\\?token=[A-Za-z0-9_-]+$")) and .format == "csv"' "$WORK/link.json" >/dev/null &&
        [ "$(expires_in_s)" -gt 3500 ] && [ "$(expires_in_s)" -le 3600 ]
}
check "POST reports/export gives a download URL, an expiry 1h ahead and the format" link_ok
url=$(jq -r .url "$WORK/link.json")
link_from=$(jq -r .from "$WORK/link.json")
link_to=$(jq -r .to "$WORK/link.json")
check "the link downloads" test "$(get "$url" dl)" = 200
check "the link downloads the same bytes as the export of its window" same_as "/api/v1/export?host_id=e-1&metric=e.val&from=$link_from&to=$link_to" dl
check "which are the rows of the direct export" cmp -s "$WORK/all.csv" "$WORK/dl.csv"
check "the link's window is fixed: a second download is identical" same_as "$url" dl
token=${url#*token=}
flip() { local c=${1:$2:1}; local r=A; [ "$c" = A ] && r=B; echo "${1:0:$2}$r${1:$(($2 + 1))}"; }
expect_error() {
    local name=$1 want_status=$2 want_code=$3 status=$4
    check "$name is $want_status $want_code" bash -c "[ '$status' = $want_status ] && jq -e '.error.code == \"$want_code\"' '$WORK/last.json' >/dev/null"
}
expect_error "a token with one character changed" 403 FORBIDDEN "$(api_status "/api/v1/export/download?token=$(flip "$token" 20)")"
expect_error "a token cut short" 403 FORBIDDEN "$(api_status "/api/v1/export/download?token=${token:0:40}")"
expect_error "a garbage token" 403 FORBIDDEN "$(api_status "/api/v1/export/download?token=hello%20world")"
expect_error "a download without token" 400 BAD_REQUEST "$(api_status "/api/v1/export/download")"
status=$(link "{\"host_id\":\"e-1\",\"metric\":\"e.note\",\"from\":$T0,\"to\":\"$(date -u -d "@$((T0 + 5))" +%Y-%m-%dT%H:%M:%SZ)\",\"labels\":{\"zone\":\"a\",\"note\":\"q\\\"x,y\"}}")
check "a link with from as a number, to as text and labels as an object is made" test "$status" = 200
check "and downloads those rows" same_as "$(jq -r .url "$WORK/link.json")" notes

expect_400() {
    local name=$1 param=$2 status=$3
    check "$name is 400 naming $param" bash -c "[ '$status' = 400 ] && jq -e '.error.code == \"BAD_REQUEST\" and (.error.message | contains(\"$param\"))' '$WORK/last.json' >/dev/null"
}
expect_400 "format=json" format "$(api_status "/api/v1/export?host_id=e-1&metric=e.val&format=json")"
expect_400 "an export without metric" metric "$(api_status "/api/v1/export?host_id=e-1")"
expect_400 "an export without host_id" host_id "$(api_status "/api/v1/export?metric=e.val")"
expect_400 "an export with a bad range" range "$(api_status "/api/v1/export?host_id=e-1&metric=e.val&range=forever")"
expect_400 "an export with from after to" from "$(api_status "/api/v1/export?host_id=e-1&metric=e.val&from=$((T0 + 100))&to=$T0")"
expect_400 "an export with bad labels" labels "$(api_status "/api/v1/export?host_id=e-1&metric=e.val&labels=%7Bnope")"
expect_error "an export of an unknown host" 404 NOT_FOUND "$(api_status "/api/v1/export?host_id=nobody&metric=e.val")"
expect_error "an export of a metric the host never sent" 404 NOT_FOUND "$(api_status "/api/v1/export?host_id=e-1&metric=nope")"
post() { api_status /api/v1/reports/export -X POST -d "$1"; }
expect_400 "a link request with malformed JSON" body "$(post '{"host_id":"e-1",')"
expect_400 "a link request that is not an object" body "$(post '["e-1"]')"
expect_400 "a link request without body" body "$(post '')"
expect_400 "a link request without metric" metric "$(post '{"host_id":"e-1"}')"
expect_400 "a link request with a number as metric" metric "$(post '{"host_id":"e-1","metric":5}')"
expect_400 "a link request with format xml" format "$(post '{"format":"xml","host_id":"e-1","metric":"e.val"}')"
expect_400 "a link request with from as a boolean" from "$(post '{"host_id":"e-1","metric":"e.val","from":true}')"
expect_400 "a link request with labels as a list" labels "$(post '{"host_id":"e-1","metric":"e.val","labels":["a"]}')"
expect_400 "a link request with an unknown field" colour "$(post '{"host_id":"e-1","metric":"e.val","colour":"red"}')"
expect_400 "a link request with range and from" range "$(post "{\"host_id\":\"e-1\",\"metric\":\"e.val\",\"range\":\"1h\",\"from\":$T0}")"
expect_error "a link request for an unknown host" 404 NOT_FOUND "$(post '{"host_id":"nobody","metric":"e.val"}')"
expect_error "GET on reports/export" 405 METHOD_NOT_ALLOWED "$(api_status /api/v1/reports/export)"
expect_error "POST on export" 405 METHOD_NOT_ALLOWED "$(api_status /api/v1/export -X POST -d '{}')"

# Restarts: a random key dies with the hub; a key file outlives it; a tiny ttl expires links.
head -c 32 /dev/urandom >"$WORK/export.key"
chmod 600 "$WORK/export.key"
check "hub stops cleanly" stop hub TERM
start_hub --api.export_secret_file="$WORK/export.key" || exit 1
expect_error "a link from before a restart (random key)" 403 FORBIDDEN "$(api_status "$url")"
link '{"host_id":"e-1","metric":"e.val","range":"1h"}' >/dev/null
keyed_url=$(jq -r .url "$WORK/link.json")
stop hub TERM
start_hub --api.export_secret_file="$WORK/export.key" --api.export_url_ttl=1s || exit 1
check "a link signed with the key file works after a restart" test "$(get "$keyed_url" keyed)" = 200
check "and downloads the same rows" cmp -s "$WORK/all.csv" "$WORK/keyed.csv"
link '{"host_id":"e-1","metric":"e.val","range":"1h"}' >/dev/null
short_url=$(jq -r .url "$WORK/link.json")
check "with export_url_ttl=1s the link expires within a second" test "$(expires_in_s)" -le 1
gone() { [ "$(api_status "$short_url")" = 410 ] && jq -e '.error.code == "GONE"' "$WORK/last.json" >/dev/null; }
check "an expired link is 410 GONE" wait_until 5 gone
expect_error "an expired link with a character changed" 403 FORBIDDEN "$(api_status "$(flip "$short_url" 60)")"

# A large export: 100,000 points one second apart (27.8 h, ending an hour ago), sent by the
# acking publisher, exported twice while the hub's peak RSS is watched (VmHWM, reset before
# each). The CSV is ~9 MB. The first export may warm the reader's SQLite page cache (2 MB by
# default, whatever the range); a second one must not grow the hub at all to speak of (the
# JSON query of the same points grows it by ~58 MB). The
# hub runs without ASan's quarantine here: it keeps freed memory resident by design, which
# would count every slice's freed allocations as growth.
N_PACKS=200 N_SAMPLES=500 N=$((200 * 500))
BIG_HOST=big-export-host-with-a-long-name-0123456789ab
BASE_MS=$(( ($(date +%s) - N - 3600) * 1000 ))
"$PUBLISHER" --port "$MQTT_PORT" --host "$BIG_HOST" --packs $N_PACKS --samples $N_SAMPLES \
    --rate 400 --timeout-s 40 --base-ms "$BASE_MS" >"$WORK/publisher.log" 2>&1
check "the publisher got every pack of the large series acknowledged" grep -q done "$WORK/publisher.log"
stop hub TERM
ASAN_OPTIONS="${ASAN_OPTIONS:-}:quarantine_size_mb=0:thread_local_quarantine_size_kb=0" start_hub || exit 1
hub_pid=${PIDS[hub]}
mem_kb() { awk "/^$1:/ {print \$2}" "/proc/$hub_pid/status"; }
big_export() { # NAME: exports the large series to $WORK/NAME.csv; sets GROWTH_KB
    local before peak status start=$(date +%s%N)
    before=$(mem_kb VmRSS)
    echo 5 >"/proc/$hub_pid/clear_refs" # VmHWM := VmRSS
    status=$(curl -s -o "$WORK/$1.csv" -w '%{http_code}' "$API/api/v1/export?host_id=$BIG_HOST&metric=crash.value&from=$((BASE_MS / 1000))&to=$(( (BASE_MS + N * 1000) / 1000 ))")
    peak=$(mem_kb VmHWM)
    GROWTH_KB=$((peak - before))
    CSV_KB=$(( $(stat -c %s "$WORK/$1.csv") / 1024 ))
    echo "# $1: status $status, $CSV_KB KiB of CSV in $(( ($(date +%s%N) - start) / 1000000 )) ms; hub VmRSS before $before KiB, peak $peak KiB (+$GROWTH_KB KiB)"
    [ "$status" = 200 ]
}
check "the large export is 200" big_export big
first_growth=$GROWTH_KB
check "the large export streams completely ($N rows, every timestamp and value)" python3 - "$WORK/big.csv" "$N" "$BASE_MS" "$BIG_HOST" <<'PY'
import csv, datetime, sys
path, n, base_ms, host = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
with open(path, newline='') as f:
    rows = csv.reader(f)
    assert next(rows) == ['timestamp', 'host_id', 'metric', 'unit', 'labels', 'value']
    count = 0
    for i, row in enumerate(rows):
        ts = datetime.datetime.fromtimestamp((base_ms + i * 1000) / 1000, datetime.timezone.utc)
        want = ts.strftime('%Y-%m-%dT%H:%M:%S.') + '%03dZ' % ((base_ms + i * 1000) % 1000)
        assert row == [want, host, 'crash.value', '', '', str(i)], (i, row)
        count += 1
assert count == n, count
PY
# ThreadSanitizer shadows every byte the page cache touches several times over: there the
# cold export's growth is only reported.
if ldd "$HUB_BIN" 2>/dev/null | grep -q libtsan; then
    echo "# ThreadSanitizer build: the first export's growth (+$first_growth KiB) is not checked"
else
    check "the first large export grows the hub's peak RSS by less than half the CSV size" test "$first_growth" -lt $((CSV_KB / 2))
fi
check "the same export again is 200" big_export again
check "and grows the hub's peak RSS by less than 1 MiB (nothing held per row)" test "$GROWTH_KB" -lt 1024
check "the repeated export gave the same bytes" cmp -s "$WORK/big.csv" "$WORK/again.csv"
# One thread serves every request: a slow download must not hold up the others.
big_url="$API/api/v1/export?host_id=$BIG_HOST&metric=crash.value&from=$((BASE_MS / 1000))&to=$(( (BASE_MS + N * 1000) / 1000 ))"
curl -s --limit-rate 2M -o "$WORK/slow.csv" "$big_url" &
slow_pid=$!
sleep 0.5
check "other requests are answered while a slow download streams" curl -fs -m 1 -o /dev/null "$API/api/v1/ping"
check "the slow download was still running then" kill -0 "$slow_pid"
wait "$slow_pid"
check "and completes with the same bytes" cmp -s "$WORK/big.csv" "$WORK/slow.csv"
curl -s -m 0.3 --limit-rate 500k -o /dev/null "$big_url"
check "a client hanging up mid-download leaves the hub serving" curl -fs -o /dev/null "$API/health"
check "HEAD on an export is 200 without a body" test "$(curl -s -I -o /dev/null -w '%{http_code} %{size_download}' "$big_url")" = "200 0"
check "hub stops cleanly at the end (no leak from cut or HEAD streams)" stop hub TERM
finish
