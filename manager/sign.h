/* sign.h: CloudStack API request signatures: base64(HMAC-SHA1(secret, the
 * sorted, URL-encoded, lower-cased query without "signature")). */
#ifndef VRM_SIGN_H
#define VRM_SIGN_H

#include <time.h>

#include "buf.h"
#include "query.h"

#define SIGN_B64_LEN 28 /* base64 of a 20-byte HMAC-SHA1, padding included */

/* The canonical string CloudStack signs, as Java's server builds it: every
 * parameter but "signature", sorted by key as sent (case-sensitive, byte
 * order: Java's Collections.sort), "key=value" with the
 * value encoded like URLEncoder.encode(v, "UTF-8") and "+" as "%20", joined
 * with '&', all lower-cased.  Replaces out's content.  Returns 0 or -ENOMEM. */
int sign_canonical(const struct query *q, struct buf *out);
/* base64(HMAC-SHA1(secret, canonical)) into out, NUL-terminated.  0 or -ENOMEM. */
int sign_compute(const char *secret, const struct query *q, char out[SIGN_B64_LEN + 1]);
/* 0 if q's "signature" equals (constant time) the signature of q under
 * secret, -EACCES otherwise (missing signature included), -ENOMEM.  A value
 * with '~' or '*' may also be signed as Python encodes it ('~' kept, '*' as
 * %2A) or as python-cs does (both kept).  With signatureVersion=3, "expires" (ISO 8601: 2026-11-22T10:00:00+0000,
 * +00:00 or Z) must be present and later than now, else -EACCES. */
int sign_verify(const char *secret, const struct query *q, time_t now);

#endif
