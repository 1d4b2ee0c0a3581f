# Configuration discovery (issue #14): the user's config.json is used
# without flags; a project's .agentbox/policy.json may only narrow until
# `agentbox trust` records its content; --no-config; `agentbox config`
# round-trips through --policy-file; every discovered file is read-only
# inside and a missing one cannot be created; explain lists the layers.
# Each case has a HOME of its own (no XDG_CONFIG_HOME unless it sets one),
# so nothing of the machine's or the pass's configuration leaks in.

disc_home() {
	HOME=$(mktemp -d "$CASE_DIR/home.XXXXXX")
	export HOME
	unset XDG_CONFIG_HOME
	UCFG=$HOME/.config/agentbox
}

# user_config JSON: writes the user's configuration file.
user_config() {
	mkdir -p "$UCFG"
	printf '%s\n' "$1" >"$UCFG/config.json"
}

# project_file JSON [DIR]: writes DIR/.agentbox/policy.json (DIR: $WS).
project_file() {
	local dir=${2:-$WS}
	mkdir -p "$dir/.agentbox"
	printf '%s\n' "$1" >"$dir/.agentbox/policy.json"
}

case_user_config_takes_effect() {
	disc_home
	new_ws
	ab run -C "$WS" -- touch "$WS/before"
	expect_nonzero "without a user config: read-only by default"
	user_config '{"version": 1, "preset": "workspace-write"}'
	ab run -C "$WS" -- touch "$WS/f"
	expect_exit "the user config's preset applies without flags" 0
	expect "... the file was written" '[ -f "$WS/f" ]'

	# $XDG_CONFIG_HOME wins over ~/.config
	mkdir -p "$CASE_DIR/xdg/agentbox"
	printf '{"version": 1, "filesystem": {"%s": "none"}}\n' "$WS" >"$CASE_DIR/xdg/agentbox/config.json"
	XDG_CONFIG_HOME=$CASE_DIR/xdg ab run -- cat "$WS/f"
	expect_nonzero "XDG_CONFIG_HOME/agentbox/config.json is the one read"
	XDG_CONFIG_HOME=$CASE_DIR/xdg ab explain
	expect_stdout_contains "... explain names it as the user config" "user config: $CASE_DIR/xdg/agentbox/config.json"

	# flags still win over the user's file
	ab run --policy read-only -C "$WS" -- touch "$WS/g"
	expect_nonzero "--policy read-only overrides the user's preset"
	expect_absent "... nothing written" "$WS/g"

	printf '{"version": 1, "bogus": 1}\n' >"$UCFG/config.json"
	ab run -C "$WS" -- true
	expect_exit "a broken user config: refused" 125
	expect_stderr_contains "... naming the file and position" "user config $UCFG/config.json:1:16: unknown key"
}

case_project_file_that_narrows_applies() {
	disc_home
	new_ws
	user_config '{"version": 1, "preset": "workspace-write", "network": {"mode": "proxy", "allow": ["a.example"]}}'
	mkdir "$WS/secret" "$WS/.git" "$WS/sub"
	echo s >"$WS/secret/key"
	project_file "{\"version\": 1, \"filesystem\": {\"$WS/secret\": \"none\", \":cwd\": \"read\"}, \"protect\": [\"build\"], \"network\": {\"deny\": [\"b.example\"]}}"
	ab run -C "$WS" -- sh -c "cat '$WS/secret/key'; touch '$WS/t'"
	expect_nonzero "a narrowing project file applies: secret hidden, workspace read-only"
	expect_absent "... nothing written" "$WS/t"
	# found from a subdirectory too: the nearest repository root's
	ab run -C "$WS/sub" -- cat "$WS/secret/key"
	expect_nonzero "... also from a subdirectory of the repository"
	ab explain -C "$WS/sub"
	expect_stdout_contains "explain: the project file narrows only" "project file: $WS/.agentbox/policy.json (sha256 "
	expect_stdout_contains "... and says so" "narrows only"
	expect_stdout_contains "... the rule names its layer" "project file $WS/.agentbox/policy.json:1:"
}

case_project_widening_needs_trust() {
	disc_home
	new_ws
	user_config '{"version": 1, "preset": "read-only"}'
	project_file '{"version": 1, "filesystem": {":cwd": "write"}}'
	local pf=$WS/.agentbox/policy.json
	ab run -C "$WS" -- touch "$WS/f"
	expect_exit "a widening project file is refused" 125
	expect_stderr_contains "... naming the widening" "$WS becomes writable (without the project file: read-only), by project file $pf:1:"
	expect_stderr_contains "... and how to trust it" "agentbox trust $pf"
	expect_absent "... the command did not run" "$WS/f"
	ab explain -C "$WS"
	expect_exit "explain refuses the same way" 125

	cd "$WS" && ab trust && cd "$CASE_DIR"
	expect_exit "agentbox trust (the discovered file) works" 0
	expect_stdout_contains "... shows the widening" "$WS becomes writable"
	expect_stdout_contains "... shows the content" '+{"version": 1, "filesystem": {":cwd": "write"}}'
	expect "... recorded in trusted.json next to config.json" \
		'grep -q "\"$pf\"" "$UCFG/trusted.json"'
	ab run -C "$WS" -- touch "$WS/f"
	expect_exit "the trusted file is used" 0
	expect "... the file was written" '[ -f "$WS/f" ]'

	printf '{"version": 1, "filesystem": {":cwd": "write"}, "network": {"mode": "full"}}\n' >"$pf"
	ab run -C "$WS" -- touch "$WS/g"
	expect_exit "after an edit it is refused again" 125
	expect_stderr_contains "... naming the new widening too" "network mode full (without the project file: none)"
	expect_absent "... the command did not run" "$WS/g"
	ab trust "$pf"
	expect_exit "trust PATH after the edit" 0
	expect_stdout_contains "... shows the diff against what was trusted" \
		'+{"version": 1, "filesystem": {":cwd": "write"}, "network": {"mode": "full"}}'
	expect_stdout_contains "... the old line too" '-{"version": 1, "filesystem": {":cwd": "write"}}'
	ab run -C "$WS" -- touch "$WS/g"
	expect_exit "the re-trusted file is used" 0
}

case_no_config_ignores_discovered_files() {
	disc_home
	new_ws
	user_config '{"version": 1, "preset": "workspace-write"}'
	ab run --no-config -C "$WS" -- touch "$WS/f"
	expect_nonzero "--no-config: the user's preset is not used"
	expect_absent "... nothing written" "$WS/f"
	project_file '{"version": 1, "network": {"mode": "full"}}'
	ab run -C "$WS" -- true
	expect_exit "a widening project file is refused" 125
	ab run --no-config -C "$WS" -- true
	expect_exit "--no-config: the project file is not read" 0
	ab explain --no-config -C "$WS"
	expect_stdout_contains "... explain says both were ignored" "project file: (ignored: --no-config)"
	expect_stdout_contains "... the user file too" "(ignored: --no-config)"
}

case_config_output_round_trips() {
	disc_home
	new_ws
	new_outside
	user_config "{\"version\": 1, \"preset\": \"workspace-write\", \"filesystem\": {\"~/private\": \"none\", \"$OUTSIDE\": \"read\"}, \"protect\": [\"secrets\"], \"unprotect\": [\".idea\"], \"network\": {\"mode\": \"proxy\", \"allow\": [\"**.example.com:443\"], \"deny\": [\"bad.example.com\"]}}"
	project_file "{\"version\": 1, \"filesystem\": {\"$WS/hidden\": \"none\"}}"
	ab config -C "$WS"
	expect_exit "agentbox config works" 0
	printf '%s\n' "$OUT" >"$OUTSIDE/effective.json"
	expect_stdout_contains "... it has every layer's rules: the user's" '"~/private": "none"'
	expect_stdout_contains "... the project's" "\"$WS/hidden\": \"none\""
	expect_stdout_contains "... the preset" '"preset": "workspace-write"'
	expect_stdout_contains "... the domains" '"allow": ["**.example.com:443"], "deny": ["bad.example.com"]'
	local first=$OUT
	ab config --no-config --policy-file "$OUTSIDE/effective.json" -C "$WS"
	expect_exit "--policy-file accepts the output" 0
	expect_stdout_eq "... and prints it back unchanged" "$first"
	ab run --no-config --policy-file "$OUTSIDE/effective.json" -C "$WS" -- sh -c "touch '$WS/ok'; touch '$WS/hidden' 2>/dev/null && echo bad; true"
	expect_exit "... and runs with it" 0
	expect_stdout_eq "... with the project's narrowing in it" ""
	expect "... and the preset's writable workspace" '[ -f "$WS/ok" ]'
}

# disc_attacks WHAT FILE ARGS...: the command tries to change, replace,
# remove or create FILE; the host must keep it as it was.
disc_attacks() {
	local what=$1 file=$2 before=absent
	shift 2
	[ -e "$file" ] && before=$(cat "$file")
	sbx "$@" -- "
		mkdir -p '$(dirname "$file")' 2>/dev/null
		echo '{\"version\": 1, \"preset\": \"full-access\"}' >'$file' 2>/dev/null && echo wrote
		echo '{}' >'$file.new' 2>/dev/null && mv -f '$file.new' '$file' 2>/dev/null && echo replaced
		[ -e '$file' ] && rm -f '$file' 2>/dev/null && [ ! -e '$file' ] && echo removed
		mv '$(dirname "$file")' '$(dirname "$file").moved' 2>/dev/null && echo renamed-dir
		true"
	expect_exit "$what: the run itself works" 0
	expect_stdout_eq "$what: no write, replace, removal or rename succeeded" ""
	if [ "$before" = absent ]; then
		expect_absent "$what: not created on the host" "$file"
	else
		expect_file_content "$what: host content unchanged" "$file" "$before"
	fi
	expect_absent "$what: the directory was not renamed" "$(dirname "$file").moved"
}

case_discovered_files_are_read_only() {
	disc_home
	new_ws
	# HOME writable: the user's directory stays read-only
	user_config '{"version": 1, "preset": "workspace-write"}'
	(cd "$WS" && ab trust "$WS/.agentbox/policy.json" >/dev/null 2>&1) # nothing to trust yet
	project_file '{"version": 1, "network": {"mode": "none"}}'
	ab trust "$WS/.agentbox/policy.json"
	expect_exit "a trust record exists" 0
	disc_attacks "user config" "$UCFG/config.json" --write "$HOME" -C "$WS"
	disc_attacks "trust store" "$UCFG/trusted.json" --write "$HOME" -C "$WS"
	disc_attacks "existing project file" "$WS/.agentbox/policy.json" --write "$HOME" -C "$WS"
	ab explain --write "$HOME" -C "$WS"
	expect_stdout_contains "explain lists the user directory" "agentbox configuration (user configuration directory)"
	expect_stdout_contains "... the trust store" "agentbox configuration (trust store)"
	expect_stdout_contains "... the project file" "agentbox configuration (project file)"

	# nothing there yet: none of them can be created
	disc_home
	new_ws
	mkdir "$WS/sub"
	disc_attacks "missing user config (no ~/.config)" "$HOME/.config/agentbox/config.json" \
		--no-config --write "$HOME" --write "$WS" -C "$WS/sub"
	expect_absent "... no ~/.config left behind" "$HOME/.config"
	mkdir "$HOME/.config"
	disc_attacks "missing user config (~/.config exists)" "$UCFG/config.json" --write "$HOME" -C "$WS/sub"
	disc_attacks "missing trust store" "$UCFG/trusted.json" --write "$HOME" -C "$WS/sub"
	disc_attacks "missing project file (writable, not a root)" "$WS/sub/.agentbox/policy.json" \
		--write "$WS" -C "$WS/sub"
	expect_absent "... no .agentbox left behind" "$WS/sub/.agentbox"
	disc_attacks "missing project file (a writable root)" "$WS/.agentbox/policy.json" \
		--write "$WS" -C "$WS"
}

case_explain_lists_layers() {
	disc_home
	new_ws
	new_outside
	user_config '{"version": 1, "preset": "workspace-write", "filesystem": {"~/x": "none"}}'
	project_file "{\"version\": 1, \"filesystem\": {\"$WS/h\": \"none\"}}"
	printf '{"version": 1, "filesystem": {"%s": "read"}}\n' "$OUTSIDE" >"$OUTSIDE/p.json"
	ab explain -C "$WS" --policy-file "$OUTSIDE/p.json" --deny "$WS/d"
	expect_exit "explain works" 0
	expect_stdout_contains "the layers, lowest first" "configuration layers (lowest first; a later layer wins):"
	expect_stdout_contains "... the built-in default" "built-in default: not used"
	expect_stdout_contains "... the user file" "user config: $UCFG/config.json"
	expect_stdout_contains "... the project file" "project file: $WS/.agentbox/policy.json"
	expect_stdout_contains "... the policy file" "--policy-file: $OUTSIDE/p.json"
	expect_stdout_contains "... the flags" "flags: -C"
	expect_stdout_contains "... the preset and its layer" "preset: workspace-write (from user config $UCFG/config.json)"
	expect_stdout_contains "a rule names the user file and position" "user config $UCFG/config.json:1:"
	expect_stdout_contains "... one the project file" "project file $WS/.agentbox/policy.json:1:"
	expect_stdout_contains "... one the policy file" "$OUTSIDE/p.json:1:"
	expect_stdout_contains "... one the flag" "--deny"
	ab explain --json -C "$WS"
	expect_stdout_contains "explain --json has the layers" '{"layers":["built-in default: '
	expect_success "... and is JSON" python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$CASE_DIR/.out"
}

# Landlock has no mounts: the user configuration directory is kept
# read-only by a read-only rule, and a missing one by the lack of MAKE_*
# rights in the directory that would hold it.
case_discovery_landlock() {
	landlock_case "landlock discovery cases" || return 0
	disc_home
	new_ws
	user_config '{"version": 1}'
	disc_attacks "landlock: user config" "$UCFG/config.json" --backend landlock --write "$HOME" -C "$WS"
	disc_attacks "landlock: missing trust store" "$UCFG/trusted.json" --backend landlock --write "$HOME" -C "$WS"
	disc_home
	disc_attacks "landlock: missing user config dir" "$HOME/.config/agentbox/config.json" \
		--backend landlock --write "$HOME" -C "$WS"
	expect_absent "... no ~/.config left behind" "$HOME/.config"
}

# A missing user configuration directory is blocked with a placeholder
# (an empty read-only directory) while a run lasts: a run in parallel, and
# a run after a killed one left the placeholder, must still read their
# configuration and keep it uncreatable, and the placeholder goes at the
# end (found by the full suite: a file placeholder made every later run
# fail with "Not a directory").
case_user_config_place_shared_by_parallel_runs() {
	disc_home
	new_ws
	"$AGENTBOX" run --policy workspace-write -C "$WS" -- sleep 2 >/dev/null 2>&1 &
	local first=$!
	bg_track "$first"
	local i
	for ((i = 0; i < 100; i++)); do
		[ -e "$HOME/.config" ] && break
		sleep 0.05
	done
	expect "the first run blocks the missing ~/.config with a directory" '[ -d "$HOME/.config" ]'
	sbx --policy workspace-write -C "$WS" -- 'mkdir ~/.config/agentbox 2>/dev/null; echo $?'
	expect_exit "a run in parallel works" 0
	expect_stdout_eq "... and cannot create the directory either" "1"
	wait "$first"
	expect_absent "after both, no ~/.config is left" "$HOME/.config"

	# what a kill -9 leaves behind: adopted, kept blocked, then removed
	mkdir "$HOME/.config"
	chmod 01444 "$HOME/.config"
	sbx --policy workspace-write -C "$WS" -- 'mkdir ~/.config/agentbox 2>/dev/null; echo $?'
	expect_exit "a leftover placeholder: the run works" 0
	expect_stdout_eq "... the place stays uncreatable" "1"
	expect_absent "... and the leftover is removed" "$HOME/.config"
}
