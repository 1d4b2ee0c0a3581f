/* The hand-over to the inner stage for programs that link libagentbox.
 *
 * The bubblewrap backend starts the inner stage by executing the calling
 * program again (/proc/self/exe __inner ... -- COMMAND). In the agentbox
 * CLI, main() checks for that first; a program linking the library would
 * have to do the same, and one that forgot would run its own main() with
 * agentbox's arguments inside the sandbox. So the library does it itself,
 * before main(): glibc passes (argc, argv, envp) to the functions of
 * .init_array, in shared objects and static executables alike. Other C
 * libraries call them without arguments, so there this is compiled out
 * and agentbox.h tells the program to make the check itself.
 *
 * The static archive keeps this object: its members are one relocatable
 * object (meson.build), which any reference to an ab_ function pulls in. */
#include <string.h>

#include "agentbox.h"

#ifdef __GLIBC__
__attribute__((constructor)) static void inner_handover(int argc, char **argv, char **envp)
{
	(void)envp;
	if (argc > 1 && argv && argv[1] && strcmp(argv[1], AB_INNER_ARG) == 0)
		ab_inner_main(argc - 1, argv + 1); /* never returns */
}
#endif
