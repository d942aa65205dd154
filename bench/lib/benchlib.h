/* benchlib.h: what the load generators in bench/ share: a monotonic clock,
 * a comparator for percentiles, and the deterministic identities of VM i
 * (address, UUIDs, random-looking strings) so every tool pushes and checks
 * the same VMs. */
#ifndef BENCH_BENCHLIB_H
#define BENCH_BENCHLIB_H

#include <stddef.h>
#include <stdint.h>

double now_s(void);
/* qsort comparator for doubles, ascending. */
int cmp_double(const void *a, const void *b);
/* SplitMix64's finaliser: a well-mixed 64-bit value from x. */
uint64_t mix64(uint64_t x);
/* VM i's IPv4, host order: 10.1.0.16 + i. */
uint32_t vm_ip(long i);
/* A version-4-shaped UUID, the same for the same (i, salt). */
void vm_uuid(long i, uint64_t salt, char out[37]);
/* n characters from alphabet, pseudo-random per (i, salt), NUL-terminated. */
void vm_chars(long i, uint64_t salt, const char *alphabet, char *out, size_t n);

#endif
