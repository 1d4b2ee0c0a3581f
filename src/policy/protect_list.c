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
 * A missing one is blocked as an empty read-only directory (git then
 * sees no repository at .git and an editor no settings) when it is a
 * directory where it exists; names that are files (`block_as_file`: shell
 * start-up files, .gitconfig, .gitmodules, .envrc, .mcp.json) become an
 * empty read-only file, because their readers refuse a directory there
 * ("Is a directory") and read an empty file as an empty configuration.
 * One that exists is kept read-only under every writable root whatever
 * its scope: that costs a bind mount, no file on the host. */
#include <string.h>

#include "policy/policy.h"

const struct protect_default policy_protect_defaults[] = {
	{".git", "git runs its hooks and obeys its config", PROTECT_EVERY_ROOT, false},
	{".agentbox", "agentbox configuration", PROTECT_EVERY_ROOT, false},
	{".gitmodules", "git submodule URLs and update commands", PROTECT_PROJECT, true},
	{".envrc", "direnv runs it on cd", PROTECT_PROJECT, true},
	{".vscode", "editor settings and tasks that run programs", PROTECT_PROJECT, false},
	{".idea", "IDE settings and run configurations", PROTECT_PROJECT, false},
	{".claude", "agent configuration and hooks (Claude Code)", PROTECT_PROJECT, false},
	{".codex", "agent configuration (Codex)", PROTECT_PROJECT, false},
	{".cursor", "agent and editor configuration (Cursor)", PROTECT_PROJECT, false},
	{".gemini", "agent configuration (Gemini CLI)", PROTECT_PROJECT, false},
	{".mcp.json", "MCP servers an agent starts", PROTECT_PROJECT, true},
	{".bashrc", "shell start-up file (bash)", PROTECT_HOME, true},
	{".bash_profile", "shell start-up file (bash)", PROTECT_HOME, true},
	{".bash_login", "shell start-up file (bash)", PROTECT_HOME, true},
	{".bash_logout", "shell exit file (bash)", PROTECT_HOME, true},
	{".profile", "shell start-up file (sh)", PROTECT_HOME, true},
	{".zshrc", "shell start-up file (zsh)", PROTECT_HOME, true},
	{".zprofile", "shell start-up file (zsh)", PROTECT_HOME, true},
	{".zshenv", "shell start-up file (zsh)", PROTECT_HOME, true},
	{".zlogin", "shell start-up file (zsh)", PROTECT_HOME, true},
	{".gitconfig", "git configuration (aliases, hooks path, pager)", PROTECT_HOME, true},
	/* the only name of more than one component: fish reads
	 * ~/.config/fish/config.fish and conf.d/; the whole directory is
	 * kept, and only where ~/.config exists (see plan/protected.c) */
	{".config/fish", "shell start-up files (fish)", PROTECT_HOME, false},
	{NULL, NULL, PROTECT_EVERY_ROOT, false},
};

const struct protect_default *policy_protect_default(const char *name)
{
	for (size_t i = 0; policy_protect_defaults[i].name; i++)
		if (strcmp(policy_protect_defaults[i].name, name) == 0)
			return &policy_protect_defaults[i];
	return NULL;
}
