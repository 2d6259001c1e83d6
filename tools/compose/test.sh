#!/usr/bin/env bash
# make compose-test: the docker-compose stack end to end, offline.
#  1. installs docker.io and docker-compose from Debian if missing, and
#     starts dockerd if none runs (and stops it again at the end);
#  2. builds the FROM-scratch images (the static binaries come from
#     `make images`) and brings the stack up under a project, image tag and
#     network of its own, every service in its own container, with the
#     gateway published on a free port of 127.0.0.1 only;
#  3. deploys a rollout through the gateway's HTTP API and sees it complete;
#  4. deploys a slower one, kills mid-rollout the container of the executor
#     acting on one of its hosts and the scheduler's container, starts the
#     scheduler again and sees the rollout complete on the other executor;
#  5. removes the containers, volumes, images and network it made (on any
#     exit). Every wait is bounded and says what it waited for.
set -euo pipefail
cd "$(dirname "$0")/../.."

say() { echo "compose-test: $*" >&2; }
fail() { say "FAIL: $*"; exit 1; }

[[ -x build/compose/rollwave && -x build/compose/nats-server ]] || fail "run 'make images' first (or 'make compose-test')"
CLI=build/compose/rollwave

# 1. Docker, from Debian's packages.
missing=()
command -v dockerd >/dev/null || missing+=(docker.io)
command -v docker-compose >/dev/null || missing+=(docker-compose)
if ((${#missing[@]})); then
	say "installing ${missing[*]}"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
command -v jq >/dev/null || { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq jq >/dev/null; }

work=$(mktemp -d)
dockerd_pid=""
project="rollwave-ct-$$"
export COMPOSE_PROJECT_NAME=$project ROLLWAVE_TAG="ct-$$" ROLLWAVE_GATEWAY_PORT="" ROLLWAVE_NATS_PORT=""
# The classic builder: BuildKit would want its own frontend image.
export DOCKER_BUILDKIT=0 COMPOSE_DOCKER_CLI_BUILD=0
dc() { timeout 300 docker-compose -f docker-compose.yml "$@"; }

cleanup() {
	local rc=$?
	set +e
	if ((rc != 0)) && [[ -n ${stack_up:-} ]]; then
		say "logs of the stack:"
		dc ps >&2
		dc logs --no-color --tail 30 >&2
	fi
	if [[ -n ${built:-} ]]; then
		say "tearing down $project"
		dc down --volumes --rmi all --remove-orphans >/dev/null 2>&1
		docker network ls -q --filter "name=${project}_" | xargs -r docker network rm >/dev/null
		# Untagged layers the build left, that were not there before it.
		comm -13 "$work/images.before" <(docker images -aq --no-trunc | sort -u) | xargs -r docker rmi -f >/dev/null 2>&1
		left=$(docker ps -aq --filter "label=com.docker.compose.project=$project")
		[[ -z $left ]] || { say "containers left behind: $left"; rc=1; }
	fi
	if [[ -n $dockerd_pid ]]; then
		say "stopping the dockerd this test started"
		kill "$dockerd_pid"
		for _ in $(seq 50); do kill -0 "$dockerd_pid" 2>/dev/null || break; sleep 0.2; done
	fi
	rm -rf "$work"
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if ! timeout 10 docker info >/dev/null 2>&1; then
	say "starting dockerd"
	setsid dockerd >"$work/dockerd.log" 2>&1 &
	dockerd_pid=$!
	for i in $(seq 60); do
		timeout 5 docker info >/dev/null 2>&1 && break
		kill -0 "$dockerd_pid" 2>/dev/null || { cat "$work/dockerd.log" >&2; fail "dockerd exited"; }
		((i < 60)) || { tail -20 "$work/dockerd.log" >&2; fail "dockerd not ready within 60s"; }
		sleep 1
	done
fi

# 2. Images and stack.
docker images -aq --no-trunc | sort -u >"$work/images.before"
built=1
say "building images rollwave:$ROLLWAVE_TAG and rollwave-nats:$ROLLWAVE_TAG"
dc build >"$work/build.log" 2>&1 || { tail -30 "$work/build.log" >&2; fail "docker-compose build"; }
say "starting the stack (project $project)"
stack_up=1
dc up -d --scale executor=2 >"$work/up.log" 2>&1 || { cat "$work/up.log" >&2; fail "docker-compose up: a service did not become healthy"; }

# Every service runs in a container of its own, and every one is healthy.
wait_healthy() { # SECONDS [CONTAINERS]
	local deadline=$((SECONDS + $1)) want=${2:-8} ids id st bad
	while :; do
		ids=$(dc ps -q)
		bad=""
		for id in $ids; do
			st=$(docker inspect -f '{{.Name}} {{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{end}}' "$id")
			[[ $st == *" running healthy" ]] || bad+="$st; "
		done
		[[ -z $bad && $(wc -w <<<"$ids") -eq $want ]] && return 0
		((SECONDS < deadline)) || fail "containers not all healthy within $1s: $bad($(wc -w <<<"$ids") of $want containers)"
		sleep 1
	done
}
wait_healthy 90
for svc in nats discovery calendar planner scheduler executor gateway; do
	n=$(dc ps -q "$svc" | wc -l)
	want=1; [[ $svc == executor ]] && want=2
	((n == want)) || fail "$svc runs in $n containers, want $want"
done
say "8 containers healthy: nats, discovery, calendar, planner, scheduler, 2 executors, gateway"

hostport=$(dc port gateway 8080)
[[ $hostport == 127.0.0.1:* ]] || fail "gateway published on $hostport, want 127.0.0.1 only"
api="http://$hostport"
export ROLLWAVE_API=$api
say "gateway at $api"

# rollout_state ID prints the rollout's state.
rollout_state() { curl -fsS --max-time 5 "$api/v1/rollouts/$1" | jq -r .state; }
wait_state() { # ID WANT SECONDS
	local deadline=$((SECONDS + $3)) st=""
	while :; do
		st=$(rollout_state "$1" 2>/dev/null || echo unreachable)
		[[ $st == "$2" ]] && return 0
		case $st in completed | failed | aborted | rejected | paused) fail "rollout $1 is $st, want $2: $(curl -fsS --max-time 5 "$api/v1/rollouts/$1")" ;; esac
		((SECONDS < deadline)) || fail "rollout $1 not $2 within $3s (last state: $st)"
		sleep 0.5
	done
}

# 3. A rollout through the gateway's HTTP API.
code=$(curl -sS --max-time 10 -o "$work/deploy.json" -w '%{http_code}' -X POST "$api/v1/rollouts" \
	-H 'Content-Type: application/json' --data @- <<'JSON'
{"app": "web", "version": "1.0.0", "environment": "qa",
 "phases": [{"name": "all", "batch": 1}],
 "failure": {"max_failed": "100%"}}
JSON
) || fail "POST /v1/rollouts did not answer"
[[ $code == 202 ]] || fail "POST /v1/rollouts answered $code: $(cat "$work/deploy.json")"
id=$(jq -r .rollout "$work/deploy.json")
say "rollout $id (web 1.0.0 to qa) accepted"
wait_state "$id" completed 90
say "rollout $id completed"

# 4. A slower rollout, and the scheduler killed in the middle of it.
cat >"$work/soak.yaml" <<'YAML'
app: web
version: 2.0.0
environment: soak
phases:
  - {name: one-by-one, batch: 1}
YAML
id=$("$CLI" deploy -f "$work/soak.yaml" -o json | jq -r .rollout)
[[ -n $id && $id != null ]] || fail "deploy of the soak rollout printed no rollout id"
say "rollout $id (web 2.0.0 to soak, 3 hosts one by one) accepted"
wait_state "$id" running 60
# First the executor acting on a host of this rollout: its unacknowledged
# action must go to the other executor (after --ack-wait, 30 s).
acting_executor() {
	local c acting finished
	for c in $(dc ps -q executor); do
		acting=$(docker logs "$c" 2>&1 | grep -c "\"acting on host\".*\"rollout\":\"$id\"" || true)
		finished=$(docker logs "$c" 2>&1 | grep -c "\"host action finished\".*\"rollout\":\"$id\"" || true)
		if ((acting > finished)); then echo "$c"; return 0; fi
	done
	return 1
}
deadline=$((SECONDS + 30))
until victim=$(acting_executor); do
	((SECONDS < deadline)) || fail "no executor was seen acting on a host of rollout $id within 30s"
	sleep 0.2
done
docker kill -s KILL "$victim" >/dev/null
say "killed the container of the executor acting on a host of rollout $id; one executor is left"
scheduler=$(dc ps -q scheduler)
# The scheduler answers GET /v1/rollouts/ID, so ask before the kill.
st=$(rollout_state "$id")
[[ $st == running ]] || fail "rollout $id was already $st before the scheduler was killed: nothing would be tested"
docker kill -s KILL "$scheduler" >/dev/null
say "killed the scheduler's container mid-rollout (rollout $st); starting it again"
dc up -d --no-deps scheduler >"$work/restart.log" 2>&1 || { cat "$work/restart.log" >&2; fail "restart of the scheduler"; }
deadline=$((SECONDS + 60))
until [[ $(docker inspect -f '{{.State.Health.Status}}' "$(dc ps -q scheduler)") == healthy ]]; do
	((SECONDS < deadline)) || fail "the restarted scheduler not healthy within 60s"
	sleep 1
done
rc=0
timeout 150 "$CLI" watch "$id" --timeout 120s >"$work/watch.log" 2>&1 || rc=$?
((rc == 0)) || { cat "$work/watch.log" >&2; fail "rollout $id did not complete after the scheduler restart (watch exit $rc)"; }
wait_state "$id" completed 10
[[ $(docker inspect -f '{{.State.Running}}' "$victim") == false ]] || fail "the killed executor runs again: the failover was not tested"
redelivered=0
for c in $(dc ps -q executor); do
	[[ $c == "$victim" ]] && continue
	redelivered=$(docker logs "$c" 2>&1 | grep -c "\"host action finished\".*\"rollout\":\"$id\".*\"delivery\":[2-9]" || true)
done
((redelivered >= 1)) || fail "no action of rollout $id was redelivered to the surviving executor"
say "rollout $id completed: the surviving executor finished the killed one's action ($redelivered redelivered), the restarted scheduler the rollout"
say "PASS"
