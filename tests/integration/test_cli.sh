#!/usr/bin/env bash
# The command line of every program, and the README's run command itself: --help,
# --version, --print-config precedence, one-line config errors with exit status 2, and
# `make run`'s runner starting the pipeline, refusing a second instance, stopping cleanly.
source "$(dirname "$0")/lib.sh"

for bin in "$HUB_BIN" "$AGENT_BIN"; do
    name=$(basename "$bin")
    check "$name --help lists options" bash -c "'$bin' --help | grep -q -- '--mqtt.port'"
    check "$name --version prints the version" bash -c "'$bin' --version | grep -qE '^$name [0-9]+\.[0-9]+\.[0-9]+$'"
    check "$name: unknown flag exits 2 with one line" bash -c "'$bin' --bogus 2>&1 >/dev/null | wc -l | grep -qx 1; '$bin' --bogus >/dev/null 2>&1; [ \$? -eq 2 ]"
    out=$("$bin" --mqtt.port=70000 2>&1 >/dev/null); rc=$?
    check "$name: out-of-range port exits 2" test "$rc" -eq 2
    check "$name: the error names the key and range ($out)" bash -c "grep -q 'port' <<<'$out' && grep -q '1..65535' <<<'$out'"
done

printf '[mqtt]\nport = 1999\n[log]\nlevel = debug\n' >"$WORK/hub.conf"
out=$(UPDRAFT_MQTT_PORT=2999 "$HUB_BIN" --config "$WORK/hub.conf" --log.level=warn --print-config)
check "file < env: env wins for mqtt.port" grep -qE '^port = 2999' <<<"$out"
check "env < flag: flag wins for log.level" grep -qE '^level = warn' <<<"$out"
out=$("$HUB_BIN" --config "$WORK/hub.conf" --print-config)
check "file > defaults" grep -qE '^port = 1999' <<<"$out"
printf '[mqtt]\nport = 1999\nprot = 3\n' >"$WORK/bad.conf"
out=$("$HUB_BIN" --config "$WORK/bad.conf" 2>&1); rc=$?
check "unknown key in a file exits 2 naming file:line ($out)" bash -c "[ $rc -eq 2 ] && grep -q 'bad.conf:3' <<<'$out' && grep -q 'prot' <<<'$out'"
out=$("$HUB_BIN" --config "$WORK/missing.conf" 2>&1); rc=$?
check "a missing config file exits 2 naming it" bash -c "[ $rc -eq 2 ] && grep -q 'missing.conf' <<<'$out'"
printf '[mqtt]\npassword = s3cret\n' >"$WORK/secret.conf"
check "--print-config masks secrets" bash -c "'$HUB_BIN' --config '$WORK/secret.conf' --print-config | grep -q 'password = \"*\\*\\*\\*' && ! '$HUB_BIN' --config '$WORK/secret.conf' --print-config | grep -q s3cret"
for f in config/*.conf; do
    case $f in
    config/hub.conf) check "example $f loads" bash -c "'$HUB_BIN' --config '$f' --print-config >/dev/null" ;;
    config/agent.conf) check "example $f loads" bash -c "'$AGENT_BIN' --config '$f' --dry-run >/dev/null" ;;
    esac
done
check "agent --dry-run rejects an unknown collector" bash -c "! '$AGENT_BIN' --agent.collectors=cpu,warp --dry-run 2>&1 | grep -q valid"
once=$("$AGENT_BIN" --agent.host_id=once-host --once)
check "agent --once prints one SenML pack with cpu and mem" jq_true '.[0].bn == "once-host/" and (map(.n) | index("cpu.utilization") != null and index("mem.used_pct") != null)' <<<"$once"

# The README's run command (what `make run` runs), on free ports.
export UPDRAFT_RUN_DIR=$WORK/run UPDRAFT_MQTT_PORT=$(free_port) UPDRAFT_HTTP_PORT=$(free_port)
bash scripts/run-local.sh "$BUILD" >"$WORK/run.out" 2>&1 &
PIDS[run]=$!
check "run prints the API URL" wait_until 30 grep -q "http://127.0.0.1:$UPDRAFT_HTTP_PORT" "$WORK/run.out"
check "run prints the broker URL" grep -q "mqtt://127.0.0.1:$UPDRAFT_MQTT_PORT" "$WORK/run.out"
API=http://127.0.0.1:$UPDRAFT_HTTP_PORT
check "the local agent shows up online" wait_until 20 bash -c "curl -fs '$API/api/v1/hosts' | jq -e '.hosts | length == 1 and .[0].status == \"online\"' >/dev/null"
out=$(bash scripts/run-local.sh "$BUILD" 2>&1); rc=$?
check "a second run fails (status $rc)" test "$rc" -ne 0
check "and says which port is in use ($out)" bash -c "grep -q 'already in use' <<<'$out' && grep -q '$UPDRAFT_MQTT_PORT' <<<'$out'"
check "the first run is still serving" curl -fs -o /dev/null "$API/health"
check "SIGTERM stops the run with status 0" stop run TERM
run_procs_gone() {
    ! pgrep -f "store.path=$UPDRAFT_RUN_DIR" >/dev/null && ! pgrep -f "$UPDRAFT_RUN_DIR/mosquitto.conf" >/dev/null &&
        ! pgrep -f "updraft-agent --mqtt.port=$UPDRAFT_MQTT_PORT" >/dev/null
}
check "every process of the run is gone" run_procs_gone
check "the hub stopped cleanly" grep -q "stopped cleanly" "$UPDRAFT_RUN_DIR/hub.log"
finish
