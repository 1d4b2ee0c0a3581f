# The built-in credential deny set (issue #16): the places where tools
# keep secrets under $HOME (and where their variables point) are empty
# inside the sandbox when they exist, on every backend and in every
# preset, while the files stay on the host; ~/.ssh/known_hosts and
# ~/.ssh/config stay readable; --allow-credentials NAME (or the policy
# file's "allow_credentials") and a rule naming the path itself keep one
# visible, and the posture and explain say so; ordinary work (git, a
# python venv, the shell's start-up file) is unaffected.

# ssh_prereqs and start_agent are t_sockets.sh's (sourcing it adds none
# of its cases here: run.sh finds cases by each file's own text).
# shellcheck source=t_sockets.sh
. "$TESTS_DIR/t_sockets.sh"

# cred_home: a fake $HOME at $H with a secret in every place of the
# table that lives under $HOME (SECRET-<place> in each file), plus
# files ordinary work needs.
cred_home() {
	H=$CASE_DIR/home
	mkdir -p "$H"
	local f
	for f in .ssh/id_ed25519 .gnupg/private-keys-v1.d/k.key .aws/credentials .azure/msal_token_cache.json \
		.config/gcloud/credentials.db .kube/config .docker/config.json .netrc .git-credentials \
		.config/git/credentials .config/gh/hosts.yml .npmrc .pypirc .cargo/credentials \
		.cargo/credentials.toml .gem/credentials .password-store/web.gpg .local/share/keyrings/login.keyring \
		.vault-token .terraform.d/credentials.tfrc.json .mozilla/firefox/p/logins.json \
		snap/firefox/common/logins.json .config/google-chrome/Default/Cookies \
		.config/chromium/Default/Cookies snap/chromium/common/Cookies .config/BraveSoftware/Brave/Cookies \
		.codex/auth.json .claude/.credentials.json .claude.json .gemini/oauth_creds.json \
		.config/github-copilot/hosts.json .config/github-copilot/apps.json; do
		mkdir -p "$(dirname "$H/$f")"
		echo "SECRET-$f" >"$H/$f"
	done
	echo "github.com ssh-ed25519 AAAAHOSTKEY" >"$H/.ssh/known_hosts"
	echo "Host example" >"$H/.ssh/config"
	echo "alias ll='ls -l'" >"$H/.bashrc"
	printf '[user]\n\tname = Test\n\temail = t@example.com\n' >"$H/.gitconfig"
	echo "ordinary" >"$H/.config/settings.ini"
}

# cred_leaks: inside the sandbox, every secret file read directly and a
# search through $HOME; prints one "LEAK ..." line per secret seen.
cred_leaks_script='
	cd "$HOME" || exit 3
	for f in $(cat "$0"); do
		c=$(cat "$f" 2>/dev/null) && [ -n "$c" ] && echo "LEAK $f"
	done
	grep -rl SECRET- . 2>/dev/null | sed "s/^/LEAK found /"
	true'

cred_list_files() {
	(cd "$H" && grep -rl SECRET- . | LC_ALL=C sort) >"$CASE_DIR/secrets.list"
}

# Every place hidden in each preset (full-access too); known_hosts and
# ssh config readable; the files unchanged on the host.
case_credentials_hidden_by_default() {
	cred_home
	cred_list_files
	new_ws
	local before preset
	before=$(snapshot "$H")
	for preset in read-only workspace-write full-access; do
		HOME=$H ab run --policy "$preset" -C "$WS" -- /bin/sh -c "$cred_leaks_script" "$CASE_DIR/secrets.list"
		expect_exit "$preset: the run works" 0
		expect_stdout_eq "$preset: no secret file is readable inside" ""
	done
	expect "the secret list covers the table's places under \$HOME" '[ "$(wc -l <"$CASE_DIR/secrets.list")" -ge 30 ]'
	HOME=$H sbx -C "$WS" -- 'cat ~/.ssh/known_hosts ~/.ssh/config ~/.bashrc ~/.config/settings.ini; ls ~/.ssh/id_ed25519 2>/dev/null; true'
	expect_stdout_eq "known_hosts, ssh config and other files stay readable; the key is gone" \
		"$(printf "github.com ssh-ed25519 AAAAHOSTKEY\nHost example\nalias ll='ls -l'\nordinary")"
	HOME=$H sbx --policy workspace-write -C "$WS" -- 'echo x >>~/.ssh/known_hosts 2>/dev/null && echo wrote; echo k >~/.ssh/id_new 2>/dev/null && echo made; true'
	expect_stdout_eq "nothing can be written or created in the hidden ~/.ssh" ""
	expect "\$HOME on the host is as it was (files and no placeholders)" '[ "$(snapshot "$H")" = "$before" ]'
	expect_file_content "the key is still on the host" "$H/.ssh/id_ed25519" "SECRET-.ssh/id_ed25519"
}

# The tools' variables: a KUBECONFIG list and DOCKER_CONFIG outside
# $HOME are hidden too.
case_credentials_tool_variables() {
	cred_home
	new_ws
	new_outside
	echo "SECRET-kube-a" >"$OUTSIDE/a.yaml"
	echo "SECRET-kube-b" >"$OUTSIDE/b.yaml"
	mkdir "$OUTSIDE/docker"
	echo "SECRET-docker" >"$OUTSIDE/docker/config.json"
	echo "plain" >"$OUTSIDE/plain.txt"
	HOME=$H KUBECONFIG="$OUTSIDE/a.yaml:$OUTSIDE/b.yaml" DOCKER_CONFIG="$OUTSIDE/docker" \
		sbx -C "$WS" -- "cat '$OUTSIDE/a.yaml' '$OUTSIDE/b.yaml' '$OUTSIDE/docker/config.json' '$OUTSIDE/plain.txt' 2>/dev/null; true"
	expect_stdout_eq "KUBECONFIG's files and DOCKER_CONFIG's config.json are empty inside" "plain"
}

# --allow-credentials NAME shows one entry, and the start event says so;
# "allow_credentials" in a policy file does the same.
case_credentials_allow_one() {
	cred_home
	new_ws
	HOME=$H abx bash -c 'exec "$@" 3>"$0"' "$CASE_DIR/events" "$AGENTBOX" run --events-fd 3 \
		--allow-credentials aws -C "$WS" -- /bin/sh -c 'cat ~/.aws/credentials; cat ~/.pypirc 2>/dev/null; true'
	expect_stdout_eq "--allow-credentials aws: ~/.aws readable, ~/.pypirc still hidden" "SECRET-.aws/credentials"
	expect_success "the start event lists aws as visible by --allow-credentials aws" python3 -c '
import json, sys
start = json.loads(open(sys.argv[1]).readline())
c = start["posture"]["credentials"]
vis = {v["name"]: v["by"] for v in c["visible"]}
hid = {h["name"] for h in c["hidden"]}
assert vis.get("aws") == "--allow-credentials aws", c
assert "ssh" in hid and "pypirc" in hid and "aws" not in hid, c
' "$CASE_DIR/events"
	printf '{"version": 1, "preset": "read-only", "allow_credentials": ["pypirc"]}\n' >"$CASE_DIR/p.json"
	HOME=$H sbx --policy-file "$CASE_DIR/p.json" -C "$WS" -- 'cat ~/.pypirc; cat ~/.aws/credentials 2>/dev/null; true'
	expect_stdout_eq "\"allow_credentials\": [\"pypirc\"] shows ~/.pypirc only" "SECRET-.pypirc"
	HOME=$H ab run --allow-credentials nosuch -- true
	expect_exit "an unknown name is refused" 125
	expect_stderr_contains "... naming the known ones" "not an entry of the credential deny set"
}

# A rule that names the credential path itself wins, and the posture
# (explain) says by what; a rule on $HOME does not show them.
case_credentials_explicit_rule_wins() {
	cred_home
	new_ws
	HOME=$H sbx --read '~/.aws' --read '~' -C "$WS" -- 'cat ~/.aws/credentials; cat ~/.kube/config 2>/dev/null; true'
	expect_stdout_eq "--read ~/.aws: readable; --read ~ leaves ~/.kube hidden" "SECRET-.aws/credentials"
	HOME=$H ab explain --read '~/.aws' -C "$WS"
	expect_stdout_contains "explain: credentials visible: aws (by --read ...)" \
		"credentials visible: aws $H/.aws (by --read (~/.aws))"
}

# explain lists each hidden entry with its reason and the kept files.
case_credentials_explain_lists() {
	cred_home
	new_ws
	HOME=$H ab explain -C "$WS"
	expect_exit "explain works" 0
	expect_stdout_contains "explain: ~/.ssh hidden, with the reason" \
		"hidden ssh $H/.ssh: SSH private keys"
	expect_stdout_contains "explain: ~/.npmrc hidden" "hidden npmrc $H/.npmrc"
	expect_stdout_contains "explain: agent credentials hidden" "hidden claude $H/.claude/.credentials.json"
	expect_stdout_contains "explain: known_hosts kept readable" "kept readable $H/.ssh/known_hosts"
	HOME=$H ab explain --json -C "$WS"
	expect_success "explain --json: the posture lists them" python3 -c '
import json, sys
c = json.loads(sys.stdin.read())["posture"]["credentials"]
names = {h["name"] for h in c["hidden"]}
want = {"ssh", "gnupg", "aws", "azure", "gcloud", "kube", "docker", "netrc", "git-credentials", "gh",
        "npmrc", "pypirc", "cargo", "gem", "pass", "keyrings", "vault", "terraform", "firefox", "chrome",
        "chromium", "brave", "codex", "claude", "gemini", "copilot"}
assert want <= names, want - names
' <<<"$OUT"
}

# Ordinary work under the default: git add/commit in the workspace (its
# .git made by git init on the host: .git cannot be created inside) with
# ~/.gitconfig's identity, npm reading its configuration with ~/.npmrc
# hidden, a python venv, the shell's start-up file.
case_credentials_developer_flow() {
	cred_home
	new_ws
	git -C "$WS" init -q .
	HOME=$H sbx --policy workspace-write --git commit -C "$WS" -- '
		echo hi >f && git add f && git commit -qm first && git log --format=%an
		. ~/.bashrc && alias ll >/dev/null && echo bashrc-ok'
	expect_exit "git and ~/.bashrc: the run works" 0
	expect_stdout_eq "git commits with ~/.gitconfig's identity; ~/.bashrc is read" "$(printf 'Test\nbashrc-ok')"
	if command -v npm >/dev/null; then
		HOME=$H sbx -C "$WS" -- 'npm config get registry'
		expect_stdout_eq "npm starts with ~/.npmrc hidden (its default registry)" "https://registry.npmjs.org/"
	else
		skip "npm with ~/.npmrc hidden" "no npm"
	fi
	if /usr/bin/python3 -c 'import venv' 2>/dev/null; then
		HOME=$H sbx --policy workspace-write -C "$WS" -- \
			'/usr/bin/python3 -m venv --without-pip venv && ./venv/bin/python -c "print(42)"'
		expect_stdout_eq "python3 -m venv in the workspace works" 42
	else
		skip "python venv" "no /usr/bin/python3 with venv"
	fi
}

# Landlock: the entries are hidden by narrowing the rules above them;
# known_hosts stays readable and --allow-credentials shows one.
case_credentials_landlock() {
	landlock_case "landlock credentials" || return 0
	cred_home
	cred_list_files
	new_ws
	HOME=$H ab run --backend landlock -C "$WS" -- /bin/sh -c "$cred_leaks_script" "$CASE_DIR/secrets.list"
	expect_exit "landlock: the run works" 0
	expect_stdout_eq "landlock: no secret file is readable inside" ""
	HOME=$H sbx --backend landlock --allow-credentials gh -C "$WS" -- \
		'cat ~/.ssh/known_hosts ~/.config/gh/hosts.yml; cat ~/.ssh/id_ed25519 2>/dev/null; true'
	expect_stdout_eq "landlock: known_hosts readable, --allow-credentials gh shows hosts.yml" \
		"$(printf 'github.com ssh-ed25519 AAAAHOSTKEY\nSECRET-.config/gh/hosts.yml')"
	HOME=$H ab explain --backend landlock -C "$WS"
	expect_stdout_contains "landlock: explain says how it holds" "enforced by: Landlock rules"
}

# The user configuration may allow an entry (agentbox config prints it);
# a project file that does is a widening, refused until trusted.
case_credentials_user_config_and_project_file() {
	cred_home
	new_ws
	mkdir -p "$H/.config/agentbox" "$WS/.agentbox"
	printf '{"version": 1, "allow_credentials": ["netrc"]}\n' >"$H/.config/agentbox/config.json"
	HOME=$H sbx -C "$WS" -- 'cat ~/.netrc; cat ~/.pypirc 2>/dev/null; true'
	expect_stdout_eq "user config \"allow_credentials\": [\"netrc\"] shows ~/.netrc only" "SECRET-.netrc"
	HOME=$H ab config -C "$WS"
	expect_stdout_contains "agentbox config prints the key" '"allow_credentials": ["netrc"]'
	printf '{"version": 1, "allow_credentials": ["pypirc"]}\n' >"$WS/.agentbox/policy.json"
	HOME=$H sbx -C "$WS" -- 'cat ~/.pypirc'
	expect_exit "a project file allowing credentials is refused untrusted" 125
	expect_stderr_contains "... naming the path it would show" "$H/.pypirc becomes read-only (without the project file: hidden)"
	expect_stdout_eq "... and nothing ran" ""
}

# ssh with ~/.ssh hidden: the agent let in by --allow-unix lists its key,
# ssh reads ~/.ssh/config (ssh -G; -F because ssh looks in the home of
# /etc/passwd, not $HOME), and the private key file is gone.
case_credentials_ssh_agent_and_config() {
	ssh_prereqs || return 0
	command -v ssh-keygen >/dev/null && command -v ssh >/dev/null ||
		{ skip "ssh with hidden ~/.ssh" "needs ssh and ssh-keygen"; return 0; }
	cred_home
	new_ws
	printf 'Host example\n\tHostName real.example.org\n' >"$H/.ssh/config"
	ssh-keygen -q -t ed25519 -N '' -C agentbox-test -f "$CASE_DIR/key" >/dev/null
	mkdir -m 0700 "$CASE_DIR/agent"
	local sock=$CASE_DIR/agent/agent.sock
	start_agent "$sock" || { fail "ssh-agent started" ""; return; }
	SSH_AUTH_SOCK=$sock ssh-add -q "$CASE_DIR/key" 2>/dev/null
	HOME=$H sbx --allow-unix "$sock" -C "$WS" -- "
		SSH_AUTH_SOCK='$sock' ssh-add -l | grep -o agentbox-test
		ssh -F ~/.ssh/config -G example | grep '^hostname '
		cat ~/.ssh/id_ed25519 2>/dev/null; true"
	expect_stdout_eq "agent reachable, ~/.ssh/config read, the key file hidden" \
		"$(printf 'agentbox-test\nhostname real.example.org')"
}

# The default developer flow through the proxy: `npm install` from a test
# registry (on the host's 127.0.0.2, which NO_PROXY does not list, so npm
# goes through agentbox's proxy, where --allow-domain opens it) works with
# ~/.npmrc and every other credential hidden and --cache npm on a fresh
# ~/.npm; nothing of the secrets is visible meanwhile.
case_credentials_npm_install_through_the_proxy() {
	if ! command -v npm >/dev/null || ! command -v node >/dev/null; then
		skip "npm install through the proxy" "npm or node is not installed"
		return
	fi
	cred_home
	new_ws
	local reg=$CASE_DIR/registry pkg=$CASE_DIR/pkg portfile=$CASE_DIR/reg.port
	mkdir -p "$reg/tiny/-" "$pkg/package"
	echo '{"name": "tiny", "version": "1.0.0", "main": "index.js"}' >"$pkg/package/package.json"
	echo 'module.exports = 42;' >"$pkg/package/index.js"
	tar czf "$reg/tiny/-/tiny-1.0.0.tgz" -C "$pkg" package
	(cd "$reg" && exec /usr/bin/python3 -c '
import http.server, json, hashlib, os
tgz = "tiny/-/tiny-1.0.0.tgz"
sha = hashlib.sha1(open(tgz, "rb").read()).hexdigest()
class H(http.server.SimpleHTTPRequestHandler):
    def do_GET(self):
        if self.path.rstrip("/") == "/tiny":
            port = self.server.server_address[1]
            body = json.dumps({"name": "tiny", "dist-tags": {"latest": "1.0.0"},
                "versions": {"1.0.0": {"name": "tiny", "version": "1.0.0",
                    "dist": {"tarball": "http://127.0.0.2:%d/%s" % (port, tgz), "shasum": sha}}}}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        return super().do_GET()
    def log_message(self, *a): pass
s = http.server.ThreadingHTTPServer(("127.0.0.2", 0), H)
print(s.server_address[1], flush=True)
s.serve_forever()
' >"$portfile" 2>/dev/null) &
	bg_track $!
	wait_for_file "$portfile" '[0-9]' 50 || { fail "setup: the test registry did not start"; return; }
	local port
	port=$(cat "$portfile")
	echo '{"name": "app", "version": "0.0.1"}' >"$WS/package.json"
	HOME=$H sbx --policy workspace-write --net proxy --allow-domain "127.0.0.2:$port" --cache npm -C "$WS" -- "
		npm install --registry http://127.0.0.2:$port/ --no-audit --no-fund --loglevel=error tiny >/dev/null 2>&1 || echo 'npm install failed'
		node -e 'console.log(require(\"tiny\"))'
		cat ~/.npmrc ~/.aws/credentials 2>/dev/null | grep -c SECRET || true"
	expect_exit "npm install through the proxy: the run works" 0
	expect_stdout_eq "the package is installed from the registry; the credentials stay hidden" "$(printf '42\n0')"
	expect "the package landed in the workspace" '[ -f "$WS/node_modules/tiny/index.js" ]'
}
