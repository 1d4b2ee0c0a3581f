/* Inside the broker (broker.h): shared by broker.c (the notification loop
 * and reading the command's memory) and broker_meta.c (the metadata calls
 * and the identity check). */
#ifndef AB_BACKEND_LANDLOCK_BROKER_INT_H
#define AB_BACKEND_LANDLOCK_BROKER_INT_H

#include <limits.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

/* One existing plan node, by identity: what the plan lets the command
 * change below it. */
struct broker_ident {
	dev_t dev;
	ino_t ino;
	bool is_dir;
	bool writable;
};

struct plan;

struct ll_broker {
	const struct plan *plan;
	bool addfd;         /* SECCOMP_IOCTL_NOTIF_ADDFD works (5.9+) */
	struct broker_ident *idents;
	size_t n_idents;
	bool root_writable; /* what holds where no node decides */
	int sock, listener, stop_r, stop_w;
	pthread_t thread;
	bool started;
};

/* The request being answered. */
struct broker_call {
	struct ll_broker *b;
	int listener;
	const struct seccomp_notif *req;
	/* What the broker created for it, removed again when the answer
	 * cannot be delivered (the caller was interrupted by a signal and
	 * will restart the call, which must not find it): a dup of the
	 * directory fd (-1: nothing) and the name, for unlinkat(flags). */
	int undo_dir;
	char undo_name[256];
	int undo_flags;
};

/* Records the entry just created at dir/name for broker_call.undo_*. */
void broker_note_created(struct broker_call *c, int dir, const char *name, int flags);

/* Copies a NUL-terminated string of at most `max` bytes (with the NUL)
 * from the caller's memory: 0, or -errno (EFAULT, ENAMETOOLONG). */
int broker_read_str(const struct broker_call *c, unsigned long long addr, char *buf, size_t max);
/* Copies `len` bytes: 0 or -EFAULT. */
int broker_read_mem(const struct broker_call *c, unsigned long long addr, void *buf, size_t len);
/* True while the caller still waits for this notification: checked after
 * reading its memory and opening its fds, before acting on them, so that
 * a recycled pid cannot stand in for it. */
bool broker_still_valid(const struct broker_call *c);

/* O_PATH fd of the caller's `dirfd` (AT_FDCWD: its working directory),
 * through /proc/TID, or -errno. */
int broker_open_base(const struct broker_call *c, int dirfd);
/* `path` with /proc/self and /proc/thread-self made the caller's. */
void broker_own_proc(const struct broker_call *c, const char *path, char *out, size_t len);

/* Handles a metadata call: the reply's value in *val, or -errno. Returns
 * false when the call is not one of them. */
bool broker_meta(const struct broker_call *c, long long *val);

/* What to do with a notification. */
enum broker_verdict {
	BV_REPLY,    /* answer with val (>= 0) or error (-errno) */
	BV_CONTINUE, /* let the kernel run the call: Landlock still judges it */
	BV_SENT,     /* already answered (SECCOMP_ADDFD_FLAG_SEND) */
};

/* A target place: directory + final name (broker_place.c). */
struct broker_place {
	bool unnamed;              /* set by the caller: an O_TMPFILE in the
				    * directory `name`, which only needs
				    * that directory writable */
	int dir;                   /* our O_PATH fd of the directory */
	char name[NAME_MAX + 1];   /* one component */
	char path[PATH_MAX];       /* directory/name, as the plan sees it */
};

/* Resolves the place the caller's (dirfd, path at addr) names: 0 when it
 * is resolved and the plan makes it writable as a whole (or, for an
 * unnamed place, its directory writable), 1 when it is not the broker's
 * (let the call continue), -errno to answer with that. */
int broker_resolve(const struct broker_call *c, int dirfd, unsigned long long addr, bool dir_ok,
		   struct broker_place *pl);
void broker_place_drop(struct broker_place *pl);
/* The caller's umask (the broker thread's own is 0). */
mode_t broker_caller_umask(const struct broker_call *c);

/* open/openat/creat (broker_open.c): the reply, with *v. */
long long broker_open_call(struct broker_call *c, int dirfd, unsigned long long addr, int flags,
			   mode_t mode, enum broker_verdict *v);

/* Handles creation, removal and renaming (broker_fs.c): false when the
 * call is not one of them. */
bool broker_fs(struct broker_call *c, enum broker_verdict *v, long long *val);

/* 1 when the object open at `fd` (O_PATH is fine) lies within a
 * writable root of the plan, 0 when not, -errno when that cannot be
 * decided. */
int broker_in_writable(const struct ll_broker *b, int fd);

/* True when `st` is a plan node's file that the plan keeps narrower than
 * writable (a protected or read-only file, under another name). */
bool broker_ident_narrower(const struct ll_broker *b, const struct stat *st);

/* True when `fd` is on procfs or sysfs (or that cannot be told): the
 * kernel's knobs, which the broker never changes. */
bool broker_kernel_fs(int fd);

#endif
