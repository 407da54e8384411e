/* error.h — how fallible host functions report what went wrong.
 *
 * Every function that can fail takes a `struct ddm_error *` as its last argument, fills it with
 * one line saying what is wrong and where, and returns the exit code the program should end with:
 * DDM_EUSAGE (2) for a usage or configuration error, DDM_ERUNTIME (1) for a run-time failure.
 * Only main() prints, so tests can assert on the exact message.
 */
#ifndef DDM_ERROR_H
#define DDM_ERROR_H

#include <stddef.h>

enum ddm_status {
    DDM_OK = 0,
    DDM_ERUNTIME = 1, /* run-time failure: I/O, numerical blow-up, out of memory */
    DDM_EUSAGE = 2,   /* bad command line, configuration or expression */
};

struct ddm_error {
    int code;
    char message[1024];
};

/* Formats the message into err (when err is not NULL) and returns code. */
int ddm_fail(struct ddm_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prepends "prefix: " to an existing message (for adding the file or stage). */
void ddm_error_prefix(struct ddm_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The exit code for a failed system call on a path: DDM_EUSAGE where the path cannot work as given
 * (missing, not a directory, a directory, no permission, a read-only file system, too long),
 * DDM_ERUNTIME otherwise (out of space, an I/O error, too many open files). */
int ddm_errno_code(int errnum);

/* Allocation that reports the size it failed on. Returns NULL and fills err on failure. */
void *ddm_alloc(size_t bytes, const char *what, struct ddm_error *err);
void *ddm_calloc(size_t count, size_t size, const char *what, struct ddm_error *err);

#endif
