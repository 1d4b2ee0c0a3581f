/* SHA-256 (FIPS 180-4), for the trust store: a project file is trusted
 * for the exact content the user saw. A compact implementation of our
 * own, because nothing agentbox links (jansson, libseccomp) has one and
 * a crypto library is a large dependency for one hash of a small file. */
#ifndef AB_COMMON_SHA256_H
#define AB_COMMON_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_DIGEST_LEN 32
#define SHA256_HEX_LEN 64

struct sha256 {
	uint32_t h[8];
	uint64_t total; /* bytes hashed so far */
	unsigned char block[64];
	size_t used;    /* bytes waiting in block */
};

void sha256_init(struct sha256 *s);
void sha256_update(struct sha256 *s, const void *data, size_t len);
void sha256_final(struct sha256 *s, unsigned char out[SHA256_DIGEST_LEN]);
/* The digest of data as 64 lower-case hex digits and a NUL. */
void sha256_hex(const void *data, size_t len, char out[SHA256_HEX_LEN + 1]);

#endif
