/* signals.c — the stop request behind checkpoints (include/ddm/signals.h).
 *
 * The handler does nothing but store the signal number in a volatile sig_atomic_t (and, for a
 * second SIGINT, restore the default action and raise it again): everything else happens in the
 * loops that poll stop_requested() between epochs and blocks.
 */
#include "ddm/signals.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

static volatile sig_atomic_t stop_signal = 0;
static const int handled[] = {SIGTERM, SIGINT, SIGUSR1};
#define HANDLED (int)(sizeof handled / sizeof handled[0])
static struct sigaction previous[HANDLED];
static int installed = 0;

static void on_signal(int signal_number) {
    if (signal_number == SIGINT && stop_signal == SIGINT) {
        /* Ctrl-C twice: stop now, without a checkpoint */
        struct sigaction fallback;
        memset(&fallback, 0, sizeof fallback);
        fallback.sa_handler = SIG_DFL;
        sigaction(SIGINT, &fallback, NULL);
        raise(SIGINT);
        return;
    }
    stop_signal = signal_number;
}

void stop_signals_install(void) {
    if (installed) return;
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = on_signal;
    action.sa_flags = SA_RESTART; /* HDF5's reads and writes go on as if nothing happened */
    sigemptyset(&action.sa_mask);
    for (int i = 0; i < HANDLED; i++) sigaction(handled[i], &action, &previous[i]);
    installed = 1;
}

void stop_signals_restore(void) {
    if (installed)
        for (int i = 0; i < HANDLED; i++) sigaction(handled[i], &previous[i], NULL);
    installed = 0;
    stop_signal = 0;
}

int stop_requested(void) {
    return stop_signal;
}

void stop_request(int signal_number) {
    stop_signal = signal_number;
}

const char *stop_signal_name(int signal_number) {
    static char other[32];
    switch (signal_number) {
    case SIGTERM:
        return "SIGTERM";
    case SIGINT:
        return "SIGINT";
    case SIGUSR1:
        return "SIGUSR1";
    default:
        snprintf(other, sizeof other, "signal %d", signal_number);
        return other;
    }
}
