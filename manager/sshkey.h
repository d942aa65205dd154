/* sshkey.h: OpenSSH public keys for the SSH key pair commands: checking a
 * key line and its MD5 fingerprint (as CloudStack shows it), and new RSA
 * key pairs made with OpenSSL's libcrypto. */
#ifndef VRM_SSHKEY_H
#define VRM_SSHKEY_H

#include <stddef.h>

#define SSHKEY_LINE_MAX 8192
#define SSHKEY_FP_LEN 47 /* "xx:" x 16 without the last ':' */

/* line: "TYPE BASE64 [COMMENT]", one line, at most SSHKEY_LINE_MAX bytes,
 * whose decoded blob starts with the string TYPE.  Writes the blob's MD5
 * as "aa:bb:..." to fp.  0 or -EINVAL (-ENOMEM).  Pure. */
int sshkey_fingerprint(const char *line, size_t len, char fp[SSHKEY_FP_LEN + 1]);
/* A new 2048-bit RSA key: its private key (PEM, "BEGIN RSA PRIVATE KEY")
 * and its public key line "ssh-rsa BASE64 comment", both new strings the
 * caller frees.  0, -ENOMEM or -EIO. */
int sshkey_generate(const char *comment, char **private_pem, char **public_line);

#endif
