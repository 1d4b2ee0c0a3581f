/* The built-in protected names: files and directories that programs on
 * the host execute or trust, kept read-only under the sandbox's writable
 * roots. This table is the one place in the code that lists them;
 * README.md and docs/policy.md list them for users (keep all three in
 * step).
 *
 * Where a missing one is blocked (so that the command cannot create it)
 * depends on where the host reads it, because blocking a missing name
 * costs a placeholder on the host for the length of the run (an empty
 * directory the user sees in that directory, supervisor/placeholders.c):
 *   PROTECT_EVERY_ROOT  under every writable root (.git, .agentbox, and
 *                       every name the user adds)
 *   PROTECT_PROJECT     under the working directory, when it is a
 *                       writable root, and under a writable $HOME
 *                       (editors, direnv and agents read these in the
 *                       project they open, and in $HOME)
 *   PROTECT_HOME        under a writable $HOME only (shells and git read
 *                       these from $HOME, nowhere else)
 * One that exists is kept read-only under every writable root whatever
 * its scope: that costs a bind mount, no file on the host. */
#include <string.h>

#include "policy/policy.h"

const struct protect_default policy_protect_defaults[] = {
	{".git", "git runs its hooks and obeys its config", PROTECT_EVERY_ROOT},
	{".agentbox", "agentbox configuration", PROTECT_EVERY_ROOT},
	{".gitmodules", "git submodule URLs and update commands", PROTECT_PROJECT},
	{".envrc", "direnv runs it on cd", PROTECT_PROJECT},
	{".vscode", "editor settings and tasks that run programs", PROTECT_PROJECT},
	{".idea", "IDE settings and run configurations", PROTECT_PROJECT},
	{".claude", "agent configuration and hooks (Claude Code)", PROTECT_PROJECT},
	{".codex", "agent configuration (Codex)", PROTECT_PROJECT},
	{".cursor", "agent and editor configuration (Cursor)", PROTECT_PROJECT},
	{".gemini", "agent configuration (Gemini CLI)", PROTECT_PROJECT},
	{".mcp.json", "MCP servers an agent starts", PROTECT_PROJECT},
	{".bashrc", "shell start-up file (bash)", PROTECT_HOME},
	{".bash_profile", "shell start-up file (bash)", PROTECT_HOME},
	{".bash_login", "shell start-up file (bash)", PROTECT_HOME},
	{".bash_logout", "shell exit file (bash)", PROTECT_HOME},
	{".profile", "shell start-up file (sh)", PROTECT_HOME},
	{".zshrc", "shell start-up file (zsh)", PROTECT_HOME},
	{".zprofile", "shell start-up file (zsh)", PROTECT_HOME},
	{".zshenv", "shell start-up file (zsh)", PROTECT_HOME},
	{".zlogin", "shell start-up file (zsh)", PROTECT_HOME},
	{".gitconfig", "git configuration (aliases, hooks path, pager)", PROTECT_HOME},
	/* the only name of more than one component: fish reads
	 * ~/.config/fish/config.fish and conf.d/; the whole directory is
	 * kept, and only where ~/.config exists (see plan/protected.c) */
	{".config/fish", "shell start-up files (fish)", PROTECT_HOME},
	{NULL, NULL, PROTECT_EVERY_ROOT},
};

const struct protect_default *policy_protect_default(const char *name)
{
	for (size_t i = 0; policy_protect_defaults[i].name; i++)
		if (strcmp(policy_protect_defaults[i].name, name) == 0)
			return &policy_protect_defaults[i];
	return NULL;
}
