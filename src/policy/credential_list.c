/* The credential deny set: files and directories under $HOME where tools
 * keep secrets (keys, tokens, passwords, browser sessions), hidden inside
 * the sandbox when they exist unless the user allows an entry by its
 * short name (--allow-credentials NAME, "allow_credentials"). This table
 * is the one place in the code that lists them; README.md ("Credentials")
 * lists them for users (keep both in step).
 *
 * A path is either "~/sub" ($HOME, canonical) or "$VAR" / "$VAR/sub": an
 * environment variable a tool reads instead of (or besides) its default
 * place. A $VAR path applies only when VAR is set to an absolute path;
 * a ':'-separated VAR (KUBECONFIG) names several files. Both the default
 * place and the variable's are hidden: a user may keep old files at the
 * default place after moving them. Only paths that exist and that the plan
 * leaves visible cost a mount (plan/credentials.c).
 *
 * `keep`: names inside a hidden directory reopened read-only, because
 * ordinary work needs them and they hold no secret (ssh checks host keys
 * in known_hosts; config names hosts, users and key files, not keys).
 *
 * Left out on purpose: ~/.config/gh-copilot (settings only; the gh CLI's
 * token is in gh/hosts.yml), ~/.gitconfig (git needs it; a token written
 * into a URL there is the user's to move), shell history. */
#include <stddef.h>
#include <string.h>

#include "policy/policy.h"

const struct credential_entry policy_credential_list[] = {
	{"ssh", "SSH private keys (id_*), agent configuration and authorized keys",
	 {"~/.ssh"}, {"known_hosts", "config"}},
	{"gnupg", "GnuPG private keys and the agent's sockets",
	 {"~/.gnupg", "$GNUPGHOME"}, {NULL}},
	{"aws", "AWS access keys and SSO session tokens",
	 {"~/.aws", "$AWS_SHARED_CREDENTIALS_FILE", "$AWS_CONFIG_FILE"}, {NULL}},
	{"azure", "Azure CLI tokens", {"~/.azure", "$AZURE_CONFIG_DIR"}, {NULL}},
	{"gcloud", "Google Cloud SDK credentials and access tokens",
	 {"~/.config/gcloud", "$XDG_CONFIG_HOME/gcloud", "$CLOUDSDK_CONFIG",
	  "$GOOGLE_APPLICATION_CREDENTIALS"}, {NULL}},
	{"kube", "Kubernetes cluster credentials (client keys, tokens)",
	 {"~/.kube", "$KUBECONFIG"}, {NULL}},
	{"docker", "registry logins of Docker and compatible tools",
	 {"~/.docker/config.json", "$DOCKER_CONFIG/config.json"}, {NULL}},
	{"netrc", "logins for curl, git, ftp and pip by host",
	 {"~/.netrc", "$NETRC"}, {NULL}},
	{"git-credentials", "passwords and tokens stored by git's credential store",
	 {"~/.git-credentials", "~/.config/git/credentials", "$XDG_CONFIG_HOME/git/credentials"}, {NULL}},
	{"gh", "the GitHub CLI's OAuth token",
	 {"~/.config/gh/hosts.yml", "$XDG_CONFIG_HOME/gh/hosts.yml", "$GH_CONFIG_DIR/hosts.yml"}, {NULL}},
	{"npmrc", "npm registry tokens (hidden even when it holds only a registry setting)",
	 {"~/.npmrc", "$NPM_CONFIG_USERCONFIG", "$npm_config_userconfig"}, {NULL}},
	{"pypirc", "PyPI upload passwords and tokens", {"~/.pypirc"}, {NULL}},
	{"cargo", "crates.io publish tokens",
	 {"~/.cargo/credentials", "~/.cargo/credentials.toml", "$CARGO_HOME/credentials",
	  "$CARGO_HOME/credentials.toml"}, {NULL}},
	{"gem", "RubyGems publish keys", {"~/.gem/credentials"}, {NULL}},
	{"pass", "the password store (pass)", {"~/.password-store", "$PASSWORD_STORE_DIR"}, {NULL}},
	{"keyrings", "GNOME keyrings (saved passwords)",
	 {"~/.local/share/keyrings", "$XDG_DATA_HOME/keyrings"}, {NULL}},
	{"vault", "HashiCorp Vault token", {"~/.vault-token"}, {NULL}},
	{"terraform", "Terraform Cloud API tokens", {"~/.terraform.d/credentials.tfrc.json"}, {NULL}},
	{"firefox", "Firefox profiles: saved passwords, cookies, sessions",
	 {"~/.mozilla", "~/snap/firefox"}, {NULL}},
	{"chrome", "Chrome profiles: saved passwords, cookies, sessions",
	 {"~/.config/google-chrome", "$XDG_CONFIG_HOME/google-chrome"}, {NULL}},
	{"chromium", "Chromium profiles: saved passwords, cookies, sessions",
	 {"~/.config/chromium", "$XDG_CONFIG_HOME/chromium", "~/snap/chromium"}, {NULL}},
	{"brave", "Brave profiles: saved passwords, cookies, sessions",
	 {"~/.config/BraveSoftware", "$XDG_CONFIG_HOME/BraveSoftware"}, {NULL}},
	{"codex", "Codex CLI login (API key or ChatGPT tokens)",
	 {"~/.codex/auth.json", "$CODEX_HOME/auth.json"}, {NULL}},
	/* ~/.claude.json: the OAuth account, an API key when one was entered
	 * (primaryApiKey) and MCP servers' settings, which often carry tokens */
	{"claude", "Claude Code login (OAuth tokens, API key) and MCP server settings",
	 {"~/.claude/.credentials.json", "~/.claude.json", "$CLAUDE_CONFIG_DIR/.credentials.json"}, {NULL}},
	{"gemini", "Gemini CLI OAuth tokens", {"~/.gemini/oauth_creds.json"}, {NULL}},
	{"copilot", "GitHub Copilot's OAuth tokens (editors, copilot CLI)",
	 {"~/.config/github-copilot/hosts.json", "~/.config/github-copilot/apps.json",
	  "$XDG_CONFIG_HOME/github-copilot/hosts.json", "$XDG_CONFIG_HOME/github-copilot/apps.json"}, {NULL}},
	{NULL, NULL, {NULL}, {NULL}},
};

const struct credential_entry *policy_credential_find(const char *name)
{
	for (size_t i = 0; policy_credential_list[i].name; i++)
		if (strcmp(policy_credential_list[i].name, name) == 0)
			return &policy_credential_list[i];
	return NULL;
}
