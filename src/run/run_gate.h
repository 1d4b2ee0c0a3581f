/* Concurrent runs in one process, and the one backend that cannot share it.
 *
 * Every ab_run and ab_explain is inside the gate while it may create child
 * processes. The Landlock backend has no PID namespace to end what the
 * command leaves behind, so while it runs the whole process is a child
 * subreaper and, when the command ends, it kills and reaps every child of
 * the process that appeared during the run (backend/landlock/supervise.c). Another
 * run's sandbox, started meanwhile from another thread, would be among
 * them. So a Landlock run waits until it is the only run in the process
 * and keeps new ones out until it is done; all other runs go side by side.
 * The program's own child processes are not covered (agentbox.h says so). */
#ifndef AB_RUN_RUN_GATE_H
#define AB_RUN_RUN_GATE_H

/* Around a whole ab_run / ab_explain: waits while a Landlock run holds the
 * process to itself. */
void run_gate_enter(void);
void run_gate_leave(void);

/* Inside the gate: waits until this is the only run, then keeps every
 * other one out until run_gate_alone_end. */
void run_gate_alone_begin(void);
void run_gate_alone_end(void);

#endif
