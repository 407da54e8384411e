/* signals.h — SIGTERM, SIGINT and SIGUSR1 as a request to stop at the next checkpoint.
 *
 * SLURM ends a job (preemption, scancel, the time limit with --signal) by signalling it; the
 * handler only records the signal, and the training and simulation loops look at it between
 * epochs and blocks, write a checkpoint into the run file and end with DDM_EINTERRUPTED, so
 * `--resume FILE.h5` can continue bit for bit. A second SIGINT (Ctrl-C twice) ends the program
 * at once; repeated SIGTERMs (SLURM may send one to every process, and the batch script forwards
 * another) only repeat the request.
 */
#ifndef DDM_SIGNALS_H
#define DDM_SIGNALS_H

/* Exit status of a run that stopped on a signal after writing its checkpoint (0, 1, 2: error.h). */
#define DDM_EINTERRUPTED 3

/* Installs the handlers (sigaction, SA_RESTART); the pending request, if any, is kept. */
void stop_signals_install(void);
/* Restores the previous handlers and clears the request. */
void stop_signals_restore(void);

/* The signal that asked the run to stop, or 0. */
int stop_requested(void);
/* Asks the run to stop as a signal would (the handler's only action; tests use it too). */
void stop_request(int signal);

/* "SIGTERM", "SIGINT", "SIGUSR1", or "signal N". */
const char *stop_signal_name(int signal);

#endif
