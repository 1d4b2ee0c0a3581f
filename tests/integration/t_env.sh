# The environment policy (issue #16, README "Environment"): secret-looking
# variables of the caller stay outside, --env-keep passes one through,
# inherit core/none, include_only, exclude and set, the policy file's
# "env" section, explain and the start event name what was dropped (never
# a value), agentbox's own variables cannot be overridden, and LD_PRELOAD
# in the command's environment never reaches the sandbox's setup.

# The fake secrets every case puts in the caller's environment; their
# values are unique so that a leak anywhere (output, events) is visible.
env_secrets=(
	AWS_SECRET_ACCESS_KEY=val-aws-7f3a GITHUB_TOKEN=val-ghtok-91c2
	OPENAI_API_KEY=val-openai-55d0 FOO_PASSWORD=val-foopw-3b8e
	DATABASE_URL=postgres://app:val-dbpw-c4e1@db.example/app
	AWS_REGION=eu-west-3 EDITOR=val-editor-vi Some_Api_Key=val-mixed-0a9d
)

# env_run AGENTBOX-ARGS... : run `env` in the sandbox with the fake
# secrets in agentbox's environment; the events go to $CASE_DIR/ev.
env_run() {
	abx env "${env_secrets[@]}" "$AGENTBOX" run --events-fd 3 "$@" -- /usr/bin/env 3>"$CASE_DIR/ev"
}

has_var() { grep -q "^$1=" <<<"$OUT"; }

# The start event's env_dropped / env_kept lists as one name per line.
ev_list() {
	python3 -c '
import json, sys
for line in open(sys.argv[1]):
    e = json.loads(line)
    if e.get("event") == "start":
        print("\n".join(e.get(sys.argv[2], ["<missing>"])))
' "$CASE_DIR/ev" "$1"
}

no_secret_values() {
	local what=$1 text=$2 v
	for v in val-aws-7f3a val-ghtok-91c2 val-openai-55d0 val-foopw-3b8e val-dbpw-c4e1 val-mixed-0a9d; do
		if [[ "$text" == *"$v"* ]]; then
			fail "$what" "a secret value ($v) is in it"
			return
		fi
	done
	ok "$what"
}

case_env_default_drops_secrets() {
	env_run
	expect_exit "env runs" 0
	expect "AWS_SECRET_ACCESS_KEY gone" '! has_var AWS_SECRET_ACCESS_KEY'
	expect "GITHUB_TOKEN gone" '! has_var GITHUB_TOKEN'
	expect "OPENAI_API_KEY gone" '! has_var OPENAI_API_KEY'
	expect "FOO_PASSWORD gone" '! has_var FOO_PASSWORD'
	expect "a URL with a password gone (DATABASE_URL)" '! has_var DATABASE_URL'
	expect "mixed case Some_Api_Key gone (patterns ignore case)" '! has_var Some_Api_Key'
	expect "AWS_REGION stays" 'grep -qx AWS_REGION=eu-west-3 <<<"$OUT"'
	expect "EDITOR, PATH and HOME stay" 'has_var EDITOR && has_var PATH && has_var HOME'
	expect "AGENTBOX_SANDBOX is set" 'grep -qx AGENTBOX_SANDBOX=1 <<<"$OUT"'
	no_secret_values "no secret value inside" "$OUT"
	local dropped
	dropped=$(ev_list env_dropped)
	expect "start event env_dropped names each secret" \
		'for n in AWS_SECRET_ACCESS_KEY GITHUB_TOKEN OPENAI_API_KEY FOO_PASSWORD DATABASE_URL Some_Api_Key; do grep -qx $n <<<"$dropped" || exit 1; done'
	expect "start event env_dropped leaves AWS_REGION out" '! grep -qx AWS_REGION <<<"$dropped"'
	no_secret_values "no secret value in the events" "$(cat "$CASE_DIR/ev")"
}

case_env_keep_passes_one_through() {
	env_run --env-keep GITHUB_TOKEN --env-keep DATABASE_URL
	expect_exit "env runs" 0
	expect "kept GITHUB_TOKEN is there with its value" 'grep -qx GITHUB_TOKEN=val-ghtok-91c2 <<<"$OUT"'
	expect "kept DATABASE_URL is there" 'has_var DATABASE_URL'
	expect "the others stay gone" '! has_var OPENAI_API_KEY && ! has_var AWS_SECRET_ACCESS_KEY'
	local kept
	kept=$(ev_list env_kept)
	expect "start event env_kept names them" 'grep -qx GITHUB_TOKEN <<<"$kept" && grep -qx DATABASE_URL <<<"$kept"'
	env_run --env-keep 'GITHUB_*'
	expect_nonzero "a pattern in --env-keep is refused"
	expect_stderr_contains "... saying keep takes an exact name" "exact variable name"
}

case_env_inherit_core_and_none() {
	env_run --env-inherit core
	expect_exit "core: runs" 0
	expect "core: PATH, HOME, LANG stay" 'has_var PATH && has_var HOME && has_var LANG'
	expect "core: EDITOR and AWS_REGION gone" '! has_var EDITOR && ! has_var AWS_REGION'
	env_run --env-inherit core --env-keep EDITOR
	expect "core + --env-keep EDITOR: EDITOR is there" 'has_var EDITOR'
	env_run --env-inherit none --env-set PATH=/usr/bin:/bin
	expect_exit "none: runs" 0
	expect "none: HOME and EDITOR gone" '! has_var HOME && ! has_var EDITOR'
	expect "none: --env-set PATH is there" 'grep -qx PATH=/usr/bin:/bin <<<"$OUT"'
	expect "none: agentbox's own are still set" 'has_var AGENTBOX_SANDBOX && has_var AGENTBOX_NETWORK'
}

case_env_exclude_include_only_set() {
	env_run --env-exclude 'edit*'
	expect "exclude is case-insensitive: EDITOR gone" '! has_var EDITOR'
	expect "exclude leaves others: HOME stays" 'has_var HOME'
	env_run --env-include-only 'PATH' --env-include-only 'ED?TOR'
	expect_exit "include_only: runs" 0
	expect "include_only: PATH and EDITOR stay" 'has_var PATH && has_var EDITOR'
	expect "include_only: HOME and AWS_REGION gone" '! has_var HOME && ! has_var AWS_REGION'
	env_run --env-set EDITOR=nano --env-set NEW_ONE=x=y --env-set EDITOR=ed
	expect "set: the last value wins over the caller's" 'grep -qx EDITOR=ed <<<"$OUT"'
	expect "set: a new variable, '=' in its value" 'grep -qx NEW_ONE=x=y <<<"$OUT"'
	env_run --env-exclude EDITOR --env-keep EDITOR
	expect "keep wins over exclude" 'has_var EDITOR'
}

case_env_explain_names_dropped_without_values() {
	abx env "${env_secrets[@]}" "$AGENTBOX" explain --env-keep GITHUB_TOKEN --env-exclude 'EDIT*'
	expect_exit "explain runs" 0
	expect_stdout_contains "names AWS_SECRET_ACCESS_KEY with its pattern" "dropped AWS_SECRET_ACCESS_KEY: built-in exclude *KEY*"
	expect_stdout_contains "names FOO_PASSWORD" "dropped FOO_PASSWORD: built-in exclude *PASSWORD*"
	expect_stdout_contains "names the URL with a password" "dropped DATABASE_URL: built-in: the value is a URL with a password"
	expect_stdout_contains "names the user's exclude" "dropped EDITOR: exclude EDIT* (--env-exclude)"
	expect_stdout_contains "names the kept one" "kept GITHUB_TOKEN"
	no_secret_values "explain prints no value" "$OUT"
	abx env "${env_secrets[@]}" "$AGENTBOX" explain --json
	expect_exit "explain --json runs" 0
	expect "explain --json: env.dropped has OPENAI_API_KEY with why" \
		'python3 -c "import json,sys; d=json.loads(sys.stdin.read()); e=[x for x in d[\"env\"][\"dropped\"] if x[\"name\"]==\"OPENAI_API_KEY\"]; sys.exit(0 if e and \"*KEY*\" in e[0][\"why\"] else 1)" <<<"$OUT"'
	no_secret_values "explain --json prints no value" "$OUT"
}

case_env_policy_file_section() {
	cat >"$CASE_DIR/p.json" <<'JSON'
{"version": 1, "preset": "read-only",
 "env": {"inherit": "core", "exclude": ["LANG"], "include_only": ["*"],
         "keep": ["OPENAI_API_KEY", "EDITOR"], "set": {"FROM_FILE": "yes"}}}
JSON
	env_run --policy-file "$CASE_DIR/p.json"
	expect_exit "runs with the file" 0
	expect "file inherit core: AWS_REGION gone" '! has_var AWS_REGION'
	expect "file exclude: LANG gone" '! has_var LANG'
	expect "file keep: OPENAI_API_KEY and EDITOR there" 'has_var OPENAI_API_KEY && has_var EDITOR'
	expect "file set: FROM_FILE=yes" 'grep -qx FROM_FILE=yes <<<"$OUT"'
	env_run --policy-file "$CASE_DIR/p.json" --env-inherit all --env-set FROM_FILE=flag
	expect "flags over the file: inherit all brings AWS_REGION back" 'has_var AWS_REGION'
	expect "flags over the file: set is last-wins" 'grep -qx FROM_FILE=flag <<<"$OUT"'
	printf '{"version": 1, "preset": "read-only", "env": {"inherit": "some"}}\n' >"$CASE_DIR/bad.json"
	env_run --policy-file "$CASE_DIR/bad.json"
	expect_nonzero "a bad inherit word is refused"
	expect_stderr_matches "... with its position" 'bad.json:1:[0-9]+: "env"."inherit" must be'
}

case_env_agentbox_variables_win() {
	abx env AGENTBOX_NETWORK=full AGENTBOX_SANDBOX=0 "$AGENTBOX" run -- /usr/bin/env
	expect_exit "runs" 0
	expect "the caller's AGENTBOX_SANDBOX is replaced" 'grep -qx AGENTBOX_SANDBOX=1 <<<"$OUT"'
	expect "the caller's AGENTBOX_NETWORK is replaced" 'grep -qx AGENTBOX_NETWORK=none <<<"$OUT"'
	ab run --env-set AGENTBOX_NETWORK=full -- true
	expect_nonzero "--env-set AGENTBOX_* is refused"
	expect_stderr_contains "... saying it is agentbox's own" "agentbox's own variable"
	ab run --net proxy --env-set HTTPS_PROXY=http://127.0.0.1:9 -- true
	expect_nonzero "--env-set of a proxy variable under --net proxy is refused"
	expect_stderr_contains "... saying agentbox sets it" "is set by agentbox itself in this run"
	if [ "${AGENTBOX_TEST_LEGACY_MOUNT:-0}" = 1 ]; then
		skip "caller's proxy variables under --net proxy" "the proxy bridge is tested in the other variants"
		return 0
	fi
	abx env HTTPS_PROXY=http://127.0.0.1:9 "$AGENTBOX" run --net proxy -- /usr/bin/env
	expect_exit "proxy run" 0
	expect "the caller's HTTPS_PROXY is replaced by agentbox's" \
		'has_var HTTPS_PROXY && ! grep -qx HTTPS_PROXY=http://127.0.0.1:9 <<<"$OUT"'
}

# caller_preload LIB: the LD_PRELOAD value a caller uses to preload LIB
# into agentbox and what it starts. An ASan build of agentbox is dynamic
# (the release CLI is static): its own runtime must come first in
# LD_PRELOAD, or it refuses to start before agentbox runs at all.
caller_preload() {
	local asan
	if grep -qa __asan_init "$AGENTBOX"; then
		asan=$(ldd "$AGENTBOX" | awk '/libasan/ {print $3; exit}')
		[ -n "$asan" ] && { echo "$asan:$1"; return; }
	fi
	echo "$1"
}

case_env_preload_does_not_reach_setup() {
	local lib=${AGENTBOX%/*}/preload_marker.so
	[ -r "$lib" ] || { fail "preload_marker.so next to agentbox" "$lib is missing"; return; }
	abx env LD_PRELOAD="$(caller_preload "$lib")" "$AGENTBOX" run -- /bin/sh -c 'echo ran'
	expect_exit "the caller's LD_PRELOAD: the run starts" 0
	expect_stdout_eq "... and the command ran" "ran"
	expect "... not loaded in bwrap or the inner stage" '[[ "$ERR" != *"LOADED IN SETUP"* ]]'
	expect_stderr_contains "... loaded in the command (the user's choice)" "preload-marker: loaded in sh"
	ab run --env-set LD_PRELOAD="$lib" -- /bin/sh -c 'echo ran'
	expect_exit "the policy's LD_PRELOAD: the run starts" 0
	expect "... not loaded in the setup" '[[ "$ERR" != *"LOADED IN SETUP"* ]]'
	expect_stderr_contains "... loaded in the command" "preload-marker: loaded in sh"
}

case_env_ssh_auth_sock_needs_allow_unix() {
	local sock=$CASE_DIR/agent.sock
	python3 -c 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$sock" ||
		{ fail "create a socket"; return; }
	abx env SSH_AUTH_SOCK="$sock" "$AGENTBOX" run -- /usr/bin/env
	expect "SSH_AUTH_SOCK dropped by default" '! has_var SSH_AUTH_SOCK'
	abx env SSH_AUTH_SOCK="$sock" "$AGENTBOX" run --allow-unix "$sock" -- /usr/bin/env
	expect_exit "with --allow-unix: runs" 0
	expect "SSH_AUTH_SOCK kept when --allow-unix names its socket" 'grep -qx "SSH_AUTH_SOCK=$sock" <<<"$OUT"'
}

case_env_landlock_backend() {
	landlock_case "environment policy on the Landlock backend" || return 0
	env_run --backend landlock --env-keep OPENAI_API_KEY
	expect_exit "landlock: runs" 0
	expect "landlock: secrets gone" '! has_var AWS_SECRET_ACCESS_KEY && ! has_var GITHUB_TOKEN && ! has_var FOO_PASSWORD'
	expect "landlock: kept one there" 'grep -qx OPENAI_API_KEY=val-openai-55d0 <<<"$OUT"'
	expect "landlock: AWS_REGION stays" 'has_var AWS_REGION'
	local dropped
	dropped=$(ev_list env_dropped)
	expect "landlock: start event names GITHUB_TOKEN" 'grep -qx GITHUB_TOKEN <<<"$dropped"'
	local lib=${AGENTBOX%/*}/preload_marker.so
	abx env LD_PRELOAD="$(caller_preload "$lib")" "$AGENTBOX" run --backend landlock -- /bin/sh -c 'echo ran'
	expect_exit "landlock: LD_PRELOAD does not stop the setup" 0
	expect "landlock: ... not loaded in the setup" '[[ "$ERR" != *"LOADED IN SETUP"* ]]'
}

# A project's .agentbox/policy.json is untrusted: its env section may
# narrow, but a keep or a wider inherit needs `agentbox trust`.
case_env_project_file_widening_needs_trust() {
	HOME=$(mktemp -d "$CASE_DIR/home.XXXXXX")
	export HOME
	unset XDG_CONFIG_HOME
	mkdir -p "$HOME/.config/agentbox"
	printf '{"version": 1, "env": {"inherit": "core"}}\n' >"$HOME/.config/agentbox/config.json"
	new_ws
	mkdir "$WS/.agentbox"
	local pf=$WS/.agentbox/policy.json
	printf '{"version": 1, "env": {"exclude": ["EDITOR"], "include_only": ["P*"]}}\n' >"$pf"
	abx env "${env_secrets[@]}" "$AGENTBOX" run -C "$WS" -- /usr/bin/env
	expect_exit "a narrowing env section applies without trust" 0
	expect "... include_only from the project: HOME gone, PATH there" '! has_var HOME && has_var PATH'
	printf '{"version": 1, "env": {"keep": ["OPENAI_API_KEY"]}}\n' >"$pf"
	abx env "${env_secrets[@]}" "$AGENTBOX" run -C "$WS" -- /usr/bin/env
	expect_exit "a project keep is refused until trusted" 125
	expect_stderr_contains "... naming the kept variable" "passes the variable OPENAI_API_KEY from your environment through"
	expect_stdout_lacks "... the command did not run" "val-openai-55d0"
	printf '{"version": 1, "env": {"inherit": "all"}}\n' >"$pf"
	abx env "${env_secrets[@]}" "$AGENTBOX" run -C "$WS" -- /usr/bin/env
	expect_exit "a wider project inherit is refused until trusted" 125
	expect_stderr_contains "... naming it" "env inherit all (without the project file: core)"
	(cd "$WS" && "$AGENTBOX" trust >/dev/null 2>&1)
	abx env "${env_secrets[@]}" "$AGENTBOX" run -C "$WS" -- /usr/bin/env
	expect_exit "after agentbox trust it applies" 0
	expect "... EDITOR (not core) is there" 'has_var EDITOR'
	ab config -C "$WS" --env-keep GITHUB_TOKEN --env-set A=b
	expect_exit "agentbox config prints the merged env section" 0
	expect_stdout_contains "... with inherit and keep" '"env": {"inherit": "all", "keep": ["GITHUB_TOKEN"], "set": {"A": "b"}}'
}
