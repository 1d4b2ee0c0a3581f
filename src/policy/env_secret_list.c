/* The built-in exclude list of the environment policy (env_policy.h):
 * variable names that usually hold a secret, dropped from the command's
 * environment unless --env-keep NAME (or "keep") passes one through.
 * README "Environment" prints this table; keep the two the same.
 *
 * Patterns are case-insensitive globs on the name. They are wide on
 * purpose: dropping a harmless variable costs a --env-keep, passing a
 * token on is a leak. The exemptions are names that match a pattern but
 * are known to hold no secret and that ordinary work needs. */
#include "policy/env_policy.h"

#include <stddef.h>

const struct env_secret env_secret_patterns[] = {
	{"*KEY*", "API keys, access key ids, private keys (OPENAI_API_KEY, ANTHROPIC_API_KEY, AWS_SECRET_ACCESS_KEY ...)"},
	{"*SECRET*", "client secrets and signing secrets"},
	{"*TOKEN*", "API, CI and session tokens (GITHUB_TOKEN, GH_TOKEN, NPM_TOKEN, CI_JOB_TOKEN, ACTIONS_RUNTIME_TOKEN ...)"},
	{"*PASSWORD*", "passwords"},
	{"*PASSWD*", "passwords"},
	{"*PASSPHRASE*", "passphrases of keys"},
	{"*CREDENTIAL*", "credentials or the file holding them (GOOGLE_APPLICATION_CREDENTIALS ...)"},
	{"*_AUTH*", "authentication data (DOCKER_AUTH_CONFIG, NPM_CONFIG__AUTH ...)"},
	{"*COOKIE*", "session cookies"},
	{"*CONNECTION_STRING*", "connection strings carry account keys (Azure storage ...)"},
	{"*_PAT", "personal access tokens"},
	{"AWS_*", "AWS credentials and session data (region and profile are exempt)"},
	{"AZURE_*", "Azure service principal credentials (client id, secret, certificate)"},
	{"GITHUB_*", "GitHub tokens and Actions runner data (GITHUB_PAT ...)"},
	{"GH_*", "GitHub CLI tokens (GH_TOKEN, GH_ENTERPRISE_TOKEN)"},
	{"ACTIONS_ID_TOKEN_REQUEST_*", "GitHub Actions OIDC token request URL and token"},
	{"ACTIONS_RUNTIME_*", "GitHub Actions runtime URL and token"},
	{"VAULT_*", "HashiCorp Vault address and token"},
	{"SSH_AUTH_SOCK", "the SSH agent: signs as the user (kept when --allow-unix names its socket)"},
	{"GPG_AGENT_INFO", "the GnuPG agent socket"},
	{NULL, NULL},
};

const struct env_secret env_secret_exempt[] = {
	{"AWS_REGION", "a region name"},
	{"AWS_DEFAULT_REGION", "a region name"},
	{"AWS_PROFILE", "a profile name (the credentials stay in ~/.aws)"},
	{"AWS_CA_BUNDLE", "a path to CA certificates"},
	{"KEYBOARD*", "keyboard layout"},
	{"KEYMAP", "keyboard layout"},
	{"KEYTIMEOUT", "the shell's key sequence timeout"},
	{"GIT_AUTHOR_*", "commit author name, e-mail and date"},
	/* a configuration key name; a pair without its key breaks every git
	 * command (GIT_CONFIG_COUNT would count it), and agentbox appends its
	 * own pairs after the caller's (supervisor/git_env.c) */
	{"GIT_CONFIG_KEY_*", "git configuration names (GIT_CONFIG_COUNT pairs)"},
	{"TOKENIZERS_PARALLELISM", "a Hugging Face tokenizers switch"},
	{"GITHUB_WORKSPACE", "a path"},
	{"GITHUB_ACTIONS", "true in GitHub Actions"},
	{NULL, NULL},
};

/* inherit "core": enough for a shell and ordinary tools to work. DISPLAY,
 * WAYLAND_DISPLAY and XDG_RUNTIME_DIR are not here: their sockets are on
 * the socket never-list (socket_never_list.c), so they would only point
 * programs at something that is not there. */
const char *const env_core_names[] = {
	"HOME", "LOGNAME", "PATH", "SHELL", "USER", "USERNAME",
	"TMPDIR", "TEMP", "TMP", "LANG", "LANGUAGE", "LC_*",
	"TERM", "COLORTERM", "NO_COLOR", "TZ",
	NULL,
};
