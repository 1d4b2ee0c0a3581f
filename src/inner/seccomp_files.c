/* Seccomp rules that keep the sandbox from leaving privilege behind in the
 * files it writes: no set-user-ID or set-group-ID bit, no device node.
 *
 * Why a mode filter: a caller who is root stays uid 0 on the host's files
 * (its user namespace maps 0 to 0), so a setuid-root binary written into a
 * writable root would give root to any local user who runs it later, on
 * the host, where the sandbox's mounts do not exist. Mounting the writable
 * roots nosuid would protect only the sandbox's own view; the host sees the
 * same inode without that flag. So the bits are refused where they are
 * asked for, in every call that sets a mode:
 *   chmod, fchmod, fchmodat, fchmodat2         mode argument
 *   creat, mkdir, mkdirat, mknod, mknodat      mode argument
 *   open, openat                               mode, when flags create a file
 *                                              (O_CREAT or O_TMPFILE)
 *   openat2                                    ENOSYS (see add_openat2_rule)
 * chown cannot add the bits, and the kernel clears S_ISUID (and a group-
 * executable S_ISGID) of a regular file on every chown; the command has no
 * CAP_CHOWN to give a file away, and no CAP_SETFCAP for file capabilities
 * (security.capability), nor CAP_MKNOD: device nodes are refused here as
 * well, so that holds without relying on the capability alone.
 *
 * The kernel reads a mode as umode_t and open flags as int; the rules test
 * single bits with masked compares, which see those bits wherever the
 * upper bits of the register are. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/stat.h>

#include "inner/seccomp_rule.h"

/* O_TMPFILE is the kernel's __O_TMPFILE bit plus O_DIRECTORY (glibc's
 * __O_TMPFILE already includes O_DIRECTORY, hence this name). The kernel
 * refuses the bit without O_DIRECTORY (EINVAL), so the bit alone is tested:
 * that covers every call that creates a file, and refusing the rest costs
 * nothing. */
#define TMPFILE_BIT ((uint64_t)(O_TMPFILE & ~O_DIRECTORY))

static const uint64_t setid_bits[] = { S_ISUID, S_ISGID };

/* A call whose mode is argument `mode_arg`. */
struct mode_call {
	const char *name;
	int generic_nr;
	unsigned int mode_arg;
};

static const struct mode_call mode_calls[] = {
	{ "chmod", 0, 1 },
	{ "fchmod", 0, 1 },
	{ "fchmodat", 0, 2 },
	{ "fchmodat2", 452, 2 },
	{ "creat", 0, 1 },
	{ "mkdir", 0, 1 },
	{ "mkdirat", 0, 2 },
	{ "mknod", 0, 1 },
	{ "mknodat", 0, 2 },
};

/* open(path, flags, mode) and openat(dirfd, path, flags, mode). */
static const struct mode_call open_calls[] = {
	{ "open", 0, 2 },
	{ "openat", 0, 3 },
};

static struct scmp_arg_cmp bit_set(unsigned int arg, uint64_t bit)
{
	return (struct scmp_arg_cmp){
		.arg = arg, .op = SCMP_CMP_MASKED_EQ, .datum_a = bit, .datum_b = bit,
	};
}

static struct scmp_arg_cmp mode_type(unsigned int arg, uint64_t type)
{
	return (struct scmp_arg_cmp){
		.arg = arg, .op = SCMP_CMP_MASKED_EQ, .datum_a = S_IFMT, .datum_b = type,
	};
}

static int add_setid_rules(scmp_filter_ctx ctx, ab_error *err)
{
	for (size_t i = 0; i < sizeof(mode_calls) / sizeof(mode_calls[0]); i++) {
		const struct mode_call *c = &mode_calls[i];
		for (size_t b = 0; b < 2; b++) {
			struct scmp_arg_cmp cmp = bit_set(c->mode_arg, setid_bits[b]);
			int r = seccomp_deny(ctx, c->name, c->generic_nr, 1, &cmp, err);
			if (r < 0)
				return r;
		}
	}
	/* The mode of open/openat counts only when the call creates a file;
	 * otherwise the register holds whatever the caller left there. */
	static const uint64_t creating[] = { O_CREAT, TMPFILE_BIT };
	for (size_t i = 0; i < sizeof(open_calls) / sizeof(open_calls[0]); i++) {
		const struct mode_call *c = &open_calls[i];
		for (size_t f = 0; f < 2; f++) {
			for (size_t b = 0; b < 2; b++) {
				struct scmp_arg_cmp cmp[2] = {
					bit_set(c->mode_arg - 1, creating[f]),
					bit_set(c->mode_arg, setid_bits[b]),
				};
				int r = seccomp_deny(ctx, c->name, c->generic_nr, 2, cmp, err);
				if (r < 0)
					return r;
			}
		}
	}
	return 0;
}

/* Character and block devices; FIFOs, sockets and regular files made with
 * mknod stay allowed (their setid bits are refused above). */
static int add_device_rules(scmp_filter_ctx ctx, ab_error *err)
{
	static const struct mode_call mknods[] = {
		{ "mknod", 0, 1 },
		{ "mknodat", 0, 2 },
	};
	static const uint64_t types[] = { S_IFCHR, S_IFBLK };
	for (size_t i = 0; i < 2; i++) {
		for (size_t t = 0; t < 2; t++) {
			struct scmp_arg_cmp cmp = mode_type(mknods[i].mode_arg, types[t]);
			int r = seccomp_deny(ctx, mknods[i].name, 0, 1, &cmp, err);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

/* openat2 carries flags and mode in a struct open_how in user memory,
 * which seccomp cannot read, so its mode cannot be checked. ENOSYS (as for
 * clone3) makes libc and the runtimes that try openat2 fall back to
 * openat, whose mode the rules above see. */
static int add_openat2_rule(scmp_filter_ctx ctx, ab_error *err)
{
	return seccomp_rule(ctx, SCMP_ACT_ERRNO(ENOSYS), "openat2", 437, 0, NULL,
			    err);
}

int seccomp_add_file_mode_rules(scmp_filter_ctx ctx, ab_error *err)
{
	int r = add_setid_rules(ctx, err);
	if (r == 0)
		r = add_device_rules(ctx, err);
	if (r == 0)
		r = add_openat2_rule(ctx, err);
	return r;
}
