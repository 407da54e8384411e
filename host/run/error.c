/* error.c — formatting of the one-line error messages (see include/ddm/error.h). */
#include "ddm/error.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int ddm_fail(struct ddm_error *err, int code, const char *fmt, ...) {
    if (err) {
        va_list args;
        va_start(args, fmt);
        vsnprintf(err->message, sizeof err->message, fmt, args);
        va_end(args);
        err->code = code;
    }
    return code;
}

void ddm_error_prefix(struct ddm_error *err, const char *fmt, ...) {
    if (!err) return;
    char prefix[512];
    va_list args;
    va_start(args, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, args);
    va_end(args);
    char joined[sizeof err->message + sizeof prefix + 2];
    snprintf(joined, sizeof joined, "%s: %s", prefix, err->message);
    size_t len = strlen(joined);
    if (len >= sizeof err->message) len = sizeof err->message - 1; /* keep the start */
    memcpy(err->message, joined, len);
    err->message[len] = 0;
}

int ddm_errno_code(int errnum) {
    switch (errnum) {
    case ENOENT:
    case ENOTDIR:
    case EISDIR:
    case EACCES:
    case EPERM:
    case EROFS:
    case ENAMETOOLONG:
    case ELOOP:
    case EEXIST:
        return DDM_EUSAGE;
    default:
        return DDM_ERUNTIME;
    }
}

void *ddm_alloc(size_t bytes, const char *what, struct ddm_error *err) {
    void *p = malloc(bytes ? bytes : 1);
    if (!p) ddm_fail(err, DDM_ERUNTIME, "out of memory allocating %s (%.3g MB)", what, bytes / 1e6);
    return p;
}

void *ddm_calloc(size_t count, size_t size, const char *what, struct ddm_error *err) {
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p)
        ddm_fail(err, DDM_ERUNTIME, "out of memory allocating %s (%.3g MB)", what,
                 (double)count * size / 1e6);
    return p;
}
