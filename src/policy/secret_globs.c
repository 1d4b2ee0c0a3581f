/* The built-in secret glob set (README "Deny globs", "The default secret
 * set"): hidden under the working directory of a workspace-write run
 * unless --no-default-secret-globs or "default_secret_globs": false.
 * One table, with the reason for each pattern; patterns are relative to
 * the working directory. */
#include "policy/secret_globs.h"

#include <string.h>

const struct secret_glob policy_secret_globs[] = {
	{"**/.env", "dotenv file: API keys and database passwords for the app"},
	{"**/.env.*", "per-environment dotenv file (.env.local, .env.production); "
		      ".env.example, .env.sample and .env.template are kept"},
	{"**/*.pem", "PEM file: private keys (and certificates, which share the suffix)"},
	{"**/*.key", "private key (TLS, signing)"},
	{"**/id_rsa*", "SSH private key (and its .pub)"},
	{"**/id_dsa*", "SSH private key (and its .pub)"},
	{"**/id_ecdsa*", "SSH private key (and its .pub)"},
	{"**/id_ed25519*", "SSH private key (and its .pub)"},
	{"**/*.p12", "PKCS#12 bundle: a certificate with its private key"},
	{"**/*.pfx", "PKCS#12 bundle: a certificate with its private key"},
	{"**/*.jks", "Java keystore: signing keys"},
	{"**/*.keystore", "keystore: Android and Java signing keys"},
	{"**/credentials.json", "OAuth client or CLI credentials (Google APIs and others)"},
	{"**/service-account*.json", "cloud service-account key"},
	{"**/.netrc", "login and password per host (curl, git, ftp)"},
	{"**/*.kdbx", "KeePass password database"},
	{NULL, NULL},
};

/* Templates checked in for others to copy: no secret in them, and
 * tooling (docker compose, dotenv-safe) reads them. */
static const char *const kept_names[] = {
	".env.example", ".env.sample", ".env.template", NULL,
};

bool policy_secret_glob_kept(const char *name)
{
	for (size_t i = 0; kept_names[i]; i++)
		if (strcmp(kept_names[i], name) == 0)
			return true;
	return false;
}

/* Installed dependencies: other people's files, large, and where TLS
 * test fixtures (*.pem, *.key) of packages live. The user's own secrets
 * are not put there; a --deny pattern of the user's still enters them. */
static const char *const skipped_dirs[] = {
	"node_modules", "bower_components", ".venv", "venv", "site-packages",
	".tox", ".nox", NULL,
};

bool policy_secret_glob_skipped_dir(const char *name)
{
	for (size_t i = 0; skipped_dirs[i]; i++)
		if (strcmp(skipped_dirs[i], name) == 0)
			return true;
	return false;
}
