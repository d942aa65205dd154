/* benchlib.c: the load generators' shared clock, comparator and VM identities. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "benchlib.h"

double
now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

uint64_t
mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

uint32_t
vm_ip(long i)
{
	return (10u << 24) | (1u << 16) | (uint32_t)(i + 16);
}

void
vm_uuid(long i, uint64_t salt, char out[37])
{
	uint64_t a = mix64((uint64_t)i ^ salt), b = mix64(a);

	snprintf(out, 37, "%08x-%04x-4%03x-a%03x-%012llx", (unsigned)(a >> 32),
	    (unsigned)(a >> 16) & 0xffff, (unsigned)a & 0xfff, (unsigned)(b >> 52),
	    (unsigned long long)(b & 0xffffffffffffULL));
}

void
vm_chars(long i, uint64_t salt, const char *alphabet, char *out, size_t n)
{
	size_t na = strlen(alphabet);
	uint64_t x = (uint64_t)i ^ salt;

	for (size_t k = 0; k < n; k++) {
		x = mix64(x);
		out[k] = alphabet[x % na];
	}
	out[n] = '\0';
}
