/* conf.h: "key = value" configuration files and the shared command line.
 *
 * Every key of a daemon can be set in its file or as "--key value" on the
 * command line; the command line wins.  Keys flagged CONF_MULTI may repeat.
 *
 * Each key has a type (and for numbers a range); cli_parse checks every
 * key's value against it once, in one place, so -n reports exactly the
 * errors a real start would, each naming its key.  A key with a
 * destination (CONF_AT) has its parsed value stored there. */
#ifndef VR_CONF_H
#define VR_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONF_MULTI 0x1u
#define CONF_LINE_MAX 4096
#define CONF_FILE_MAX (1024 * 1024)

/* What a key's value must be, and what its destination holds. */
enum conf_type {
	CONF_STR,     /* any text: const char * (CONF_MULTI: struct conf_list) */
	CONF_BOOL,    /* yes/no, true/false, on/off, 1/0: bool */
	CONF_UINT,    /* a whole number from min to max (max <= UINT_MAX): unsigned */
	CONF_U64,     /* a whole number from min to max: uint64_t */
	CONF_CHOICE,  /* one of choices: unsigned, the index in choices */
	CONF_LISTEN,  /* "host:port", min to max of them (CONF_MULTI): struct conf_list */
	CONF_PATH,    /* an absolute path without spaces, newlines, ',' or '#': const char * */
	CONF_USER,    /* an existing user's name ("" too with min 0): const char * */
};

/* The values of a CONF_MULTI key (pointers into the struct conf). */
struct conf_list {
	char *const *v;
	size_t n;
};

struct conf_key {
	const char *name;
	const char *def;  /* default value, NULL for none (the key may stay unset) */
	unsigned flags;
	const char *help; /* one line for --help */
	enum conf_type type;
	uint64_t min, max;            /* CONF_UINT, CONF_U64: the range; CONF_LISTEN:
	                               * how many; CONF_USER: min 0 allows "" */
	const char *const *choices;   /* CONF_CHOICE: NULL-terminated */
	bool has_dest;
	size_t dest;                  /* offset of the value in the caller's struct */
};

/* A key's destination: member m of the caller's struct s (CONF_AT(struct
 * x, y) in a designated initializer). */
#define CONF_AT(s, m) .has_dest = true, .dest = offsetof(s, m)

enum conf_source { CONF_SRC_DEFAULT, CONF_SRC_FILE, CONF_SRC_CLI };

struct conf_val {
	char **v;
	size_t n;
	enum conf_source src;
};

struct conf {
	const struct conf_key *keys;
	size_t nkeys;
	struct conf_val *vals;
};

/* Returns 0 or -ENOMEM. */
int conf_init(struct conf *c, const struct conf_key *keys, size_t nkeys);
void conf_free(struct conf *c);

/* Parses a whole file's text (pure: no I/O).  Keys already set from a
 * stronger source are left alone.  Returns 0, or -EINVAL with a message
 * naming the line and key in err. */
int conf_parse(struct conf *c, const char *buf, size_t len, enum conf_source src,
    char *err, size_t errlen);
/* Sets one key.  Returns 0, -ENOENT for an unknown key, -EEXIST for a
 * repeated single-valued key from the same source, -ENOMEM. */
int conf_set(struct conf *c, const char *key, const char *value, enum conf_source src);
/* Fills unset keys with their defaults. */
int conf_apply_defaults(struct conf *c);

/* The (first) value of a key, or NULL. */
const char *conf_get(const struct conf *c, const char *key);
/* All values of a key; returns their count. */
size_t conf_get_all(const struct conf *c, const char *key, char *const **out);
/* Checks every key's value against its type and stores it in its
 * destination (inside dst, which may be NULL when no key has one).  Keys
 * without a value are skipped.  Returns 0, or -EINVAL with "key: reason"
 * in err for the first bad one. */
int conf_check(const struct conf *c, void *dst, char *err, size_t errlen);

/* Typed getters: 0, or -EINVAL with "key: reason" in err. */
int conf_get_bool(const struct conf *c, const char *key, bool *out, char *err, size_t errlen);
int conf_get_u64(const struct conf *c, const char *key, uint64_t min, uint64_t max,
    uint64_t *out, char *err, size_t errlen);

/* The command line every binary shares. */
struct cli_spec {
	const char *prog;
	const char *summary;          /* one line: what the program is */
	const char *usage;            /* e.g. "[OPTION]..." */
	const char *extra_help;       /* printed after the options, may be NULL */
	const char *default_config;   /* path, may be NULL */
	const struct conf_key *keys;
	size_t nkeys;
	bool takes_args;              /* positional arguments allowed */
	const char *const *flags;     /* extra boolean flags (e.g. "json"), NULL-terminated */
	const char *const *flag_help; /* one line each, parallel to flags */
};

struct cli_result {
	struct conf conf;
	bool check_only;
	int verbose;
	char **args;                  /* positional arguments (pointers into argv) */
	int nargs;
	unsigned flag_bits;           /* bit i set: flags[i] given */
	char config_path[4096];
	bool config_loaded;
};

/* Parses argv, loads the configuration file and checks every key
 * (conf_check), storing the values with a destination in dst (may be NULL).
 * Prints --help/--version and exits 0; prints a usage or configuration
 * error naming the argument or key and exits 2. */
void cli_parse_into(const struct cli_spec *spec, int argc, char **argv, struct cli_result *out,
    void *dst);
/* cli_parse_into without destinations. */
void cli_parse(const struct cli_spec *spec, int argc, char **argv, struct cli_result *out);
void cli_result_free(struct cli_result *r);
/* The -n report: "prog: configuration ok (...)" and every key = value. */
void cli_report(const struct cli_spec *spec, const struct cli_result *r);
/* Prints "prog: message" and exits 2; for configuration errors found later. */
_Noreturn void cli_config_error(const struct cli_spec *spec, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
