/* clone(2) with new namespaces, safe in a process that has threads. */
#ifndef AB_COMMON_SAFE_CLONE_H
#define AB_COMMON_SAFE_CLONE_H

#include <sys/types.h>

/* Like syscall(SYS_clone, flags, NULL, ...) without CLONE_VM: returns the
 * child's pid in the caller, 0 in the child, -1 with errno on failure.
 * The child is the caller's own (waitpid works, it signals SIGCHLD).
 *
 * Why: a raw clone copies the memory of a process whose other threads may
 * be inside malloc, fork or stdio at that instant, locks held, and a child
 * that then allocates (the built-in backend's sandbox init builds the
 * mount tree with malloc) waits for those locks forever. glibc's fork()
 * takes them around the copy and resets them in the child, but cannot
 * create namespaces. So when the process has ever had a second thread, a
 * helper is forked with glibc's fork() (single-threaded, locks clean) and
 * makes the clone itself with CLONE_PARENT, which makes the new process
 * the caller's child; the helper reports the pid and exits. A process
 * that never had threads clones directly, as before, without the cost of
 * the extra fork. `flags` must not contain CLONE_VM, CLONE_THREAD or
 * CLONE_PARENT; their exit signal is SIGCHLD either way. */
pid_t safe_clone(unsigned long flags);

#endif
