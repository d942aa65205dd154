/* err.h: the one error convention.  A function that can fail returns 0 (or
 * a count) on success and a negative errno on failure; when it has a reason
 * worth telling, it writes it into the caller's buffer (char *err, size_t
 * errlen), naming the thing that was wrong ("listen: ...", "line 3: ...").
 * err_set writes that text and hands the code back, so a failure is one
 * line: return err_set(err, errlen, -EINVAL, "...");. */
#ifndef VR_ERR_H
#define VR_ERR_H

#include <stddef.h>

/* Writes the formatted reason into err (if err is not NULL and errlen is
 * not 0) and returns r, which should be a negative errno.  errno is left as
 * it was. */
int err_set(char *err, size_t errlen, int r, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
