# --cache and --write-create (src/policy/cache_dirs.c, src/plan/create_rules.c,
# src/run/create_dirs.c): a package manager's cache, or a directory the
# user names, is writable inside and created on the host (mode 0700, the
# caller's) when missing; never through a symbolic link, never inside a
# hidden or protected area. Each case uses a fresh $HOME of its own under
# the case directory, which the default policy (read-only) leaves
# read-only.

# fresh_home: a new empty $HOME for the pass user; sets H.
fresh_home() {
	H=$(mktemp -d "$CASE_DIR/home.XXXXXX")
	chmod 0755 "$H"
}

# expect_dir_0700_ours NAME PATH
expect_dir_0700_ours() {
	local got
	got=$(stat -c '%F %a %u' "$2" 2>&1)
	if [ "$got" = "directory 700 $(id -u)" ]; then
		ok "$1"
	else
		fail "$1" "$2: $got (want: directory 700 $(id -u))"
	fi
}

case_cache_npm_on_a_fresh_home() {
	fresh_home
	HOME=$H ab run --cache npm -- /bin/sh -c '
echo cached >"$HOME/.npm/x" && echo wrote-cache
touch "$HOME/elsewhere" 2>/dev/null || echo home-read-only'
	expect_exit "the run succeeds" 0
	expect_stdout_eq "the cache is writable, the rest of \$HOME is not" "$(printf 'wrote-cache\nhome-read-only')"
	expect_dir_0700_ours "~/.npm was created 0700 and ours" "$H/.npm"
	expect_file_content "what the command wrote is on the host" "$H/.npm/x" cached
	expect_absent "nothing else in \$HOME" "$H/elsewhere"
	expect_stderr_contains "the creation is reported" "created $H/.npm (mode 0700) for --cache npm"
	# the second run finds it and says nothing about it
	HOME=$H ab run --cache npm -- cat "$H/.npm/x"
	expect_stdout_eq "the second run reads it" cached
	if grep -q "created" <<<"$ERR"; then
		fail "nothing is created twice" "$ERR"
	else
		ok "nothing is created twice"
	fi
	HOME=$H ab explain --cache npm
	expect_stdout_contains "explain names --cache npm as the reason" "--cache npm (~/.npm)"
	if command -v npm >/dev/null; then
		HOME=$H ab run --cache npm -- npm cache verify
		expect_exit "npm cache verify writes its cache" 0
		if [ -d "$H/.npm/_cacache" ]; then
			ok "npm's _cacache is in ~/.npm"
		else
			fail "npm's _cacache is in ~/.npm" "$(ls -la "$H/.npm")"
		fi
	fi
}

case_cache_explain_before_the_first_run_creates_nothing() {
	fresh_home
	HOME=$H ab explain --cache pip,cargo
	expect_exit "explain runs" 0
	expect_stdout_contains "explain says pip's cache will be created" \
		"writable directory $H/.cache/pip does not exist yet; agentbox run creates it (mode 0700) (--cache pip (~/.cache/pip))"
	expect_stdout_contains "and cargo's registry" "$H/.cargo/registry does not exist yet"
	expect_absent "explain creates nothing" "$H/.cache"
	expect_absent "explain creates nothing (cargo)" "$H/.cargo"
}

case_cache_tools_variables_move_it() {
	fresh_home
	local mod=$CASE_DIR/gomod build=$CASE_DIR/gobuild
	HOME=$H GOMODCACHE=$mod GOCACHE=$build ab run --cache go -- /bin/sh -c \
		'touch "$GOMODCACHE/m" "$GOCACHE/b" && echo ok'
	expect_stdout_eq "GOMODCACHE and GOCACHE are the writable ones" ok
	expect_dir_0700_ours "GOMODCACHE created" "$mod"
	expect_absent "not ~/go" "$H/go"
	HOME=$H XDG_CACHE_HOME=$CASE_DIR/xdg ab run --cache pip -- touch "$CASE_DIR/xdg/pip/p"
	expect_exit "XDG_CACHE_HOME/pip is pip's cache" 0
	expect_dir_0700_ours "every missing component is created 0700" "$CASE_DIR/xdg"
	HOME=$H PIP_CACHE_DIR=relative/dir ab run --cache pip -- true
	expect_exit "a relative PIP_CACHE_DIR is refused" 125
	expect_stderr_contains "and named" "\$PIP_CACHE_DIR is 'relative/dir', not an absolute path"
	HOME=$H ab run --cache apt -- true
	expect_exit "an unknown name is refused" 125
	expect_stderr_contains "with the known ones" "--cache apt: unknown package manager (known: npm"
}

case_cache_write_create_and_the_policy_file() {
	fresh_home
	local dir=$CASE_DIR/out/a/b
	ab run --write-create "$dir" -- /bin/sh -c "echo made >$dir/f"
	expect_exit "--write-create runs" 0
	expect_dir_0700_ours "the directory was created" "$dir"
	expect_dir_0700_ours "and its missing parents" "$CASE_DIR/out"
	expect_file_content "it was writable inside" "$dir/f" made
	ab run --write "$CASE_DIR/nothere" -- true
	expect_absent "plain --write creates nothing" "$CASE_DIR/nothere"
	cat >"$CASE_DIR/p.json" <<EOF
{"version": 1, "preset": "read-only", "cache": ["maven"],
 "filesystem": {"~/proj/build": "write+create"}}
EOF
	HOME=$H ab run --policy-file "$CASE_DIR/p.json" -- /bin/sh -c \
		'touch ~/.m2/repository/r ~/proj/build/b && echo ok; touch ~/.m2/settings.xml 2>/dev/null || echo settings-read-only'
	expect_stdout_eq "the policy file's cache and write+create" "$(printf 'ok\nsettings-read-only')"
	expect_dir_0700_ours "~/proj/build created" "$H/proj/build"
	expect_dir_0700_ours "~/.m2/repository created" "$H/.m2/repository"
	HOME=$H ab config --policy-file "$CASE_DIR/p.json"
	expect_stdout_contains "agentbox config prints write+create" '"~/proj/build": "write+create"'
}

case_cache_symlink_on_the_way_is_refused() {
	fresh_home
	mkdir "$CASE_DIR/target"
	ln -s "$CASE_DIR/target" "$H/.m2"
	HOME=$H ab run --cache maven -- true
	expect_exit "a symbolic link in the path is refused" 125
	expect_stderr_contains "naming the link" "$H/.m2 is a symbolic link, which agentbox does not follow"
	expect_stderr_contains "and the rule" "(the rule: --cache maven)"
	expect_absent "nothing created where the link points" "$CASE_DIR/target/repository"
	mkdir "$H/real"
	ln -s "$H/real" "$H/link"
	ab run --write-create "$H/link/deep/dir" -- true
	expect_exit "--write-create through a link is refused" 125
	expect_absent "nothing created through it" "$H/real/deep"
	# a link to a directory of the case's own, one level up
	ln -s "$CASE_DIR/target" "$H/last"
	ab run --write-create "$H/last/x" -- true
	expect_exit "a link right above the missing directory is refused" 125
	expect_absent "nothing created in the target" "$CASE_DIR/target/x"
}

case_cache_inside_hidden_or_protected_is_refused() {
	fresh_home
	HOME=$H ab run --deny '~/.cache' --cache uv -- true
	expect_exit "inside a --deny area: refused" 125
	expect_stderr_contains "saying where" "lies inside $H/.cache, hidden by --deny"
	expect_absent "nothing created" "$H/.cache"
	HOME=$H GOMODCACHE=$H/.git/mod GOCACHE=$H/b ab run --cache go -- true
	expect_exit "a protected name on the way: refused" 125
	expect_stderr_contains "naming it" '".git" is a protected name'
	expect_absent "no .git created" "$H/.git"
	new_ws
	mkdir -p "$WS/.git"
	ab run --policy workspace-write -C "$WS" --write-create "$WS/.git/cache" -- true
	expect_exit "--write-create in an existing .git: refused" 125
	expect_absent "nothing created in .git" "$WS/.git/cache"
}

case_cache_landlock_backend() {
	landlock_case "--cache on the Landlock backend" || return 0
	fresh_home
	HOME=$H ab run --backend landlock --cache npm -- /bin/sh -c '
touch "$HOME/.npm/x" && echo wrote-cache
touch "$HOME/elsewhere" 2>/dev/null || echo home-read-only'
	expect_exit "the run succeeds" 0
	expect_stdout_eq "the cache is writable, the rest of \$HOME is not" "$(printf 'wrote-cache\nhome-read-only')"
	expect_dir_0700_ours "~/.npm was created" "$H/.npm"
}
