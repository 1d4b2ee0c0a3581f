/* SOCKS5 (RFC 1928) as the proxy speaks it: no authentication, CONNECT
 * only. Pure byte parsing and encoding, no I/O. */
#ifndef AB_NET_SOCKS5_H
#define AB_NET_SOCKS5_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "policy/domain.h"

#define SOCKS5_VERSION 5
#define SOCKS5_NO_AUTH 0x00
#define SOCKS5_NO_ACCEPTABLE 0xFF

enum socks5_reply {
	SOCKS5_OK = 0x00,
	SOCKS5_GENERAL_FAILURE = 0x01,
	SOCKS5_NOT_ALLOWED = 0x02,
	SOCKS5_NET_UNREACHABLE = 0x03,
	SOCKS5_HOST_UNREACHABLE = 0x04,
	SOCKS5_CONN_REFUSED = 0x05,
	SOCKS5_TTL_EXPIRED = 0x06,
	SOCKS5_CMD_UNSUPPORTED = 0x07,
	SOCKS5_ATYP_UNSUPPORTED = 0x08,
};

/* The method selection message. Returns the bytes it takes (> 0), 0 if
 * more bytes are needed, -1 if it is not SOCKS5. *no_auth says whether
 * the client offered "no authentication". */
ssize_t socks5_parse_greeting(const uint8_t *buf, size_t len, bool *no_auth);

struct socks5_request {
	uint8_t cmd;
	char host[DOMAIN_HOST_MAX]; /* normalised */
	unsigned port;
};

/* The request. Returns the bytes it takes (> 0), 0 if more bytes are
 * needed, or -1 with *reply set to the code to answer: CMD_UNSUPPORTED
 * (BIND, UDP ASSOCIATE), ATYP_UNSUPPORTED, or GENERAL_FAILURE for a
 * malformed request or an invalid host name. */
ssize_t socks5_parse_request(const uint8_t *buf, size_t len, struct socks5_request *req,
			     enum socks5_reply *reply);

/* Encodes a reply with an IPv4 or IPv6 bound address (`addr` of 4 or 16
 * bytes, NULL for 0.0.0.0:0) into out (at least 22 bytes); returns its
 * length. */
size_t socks5_encode_reply(uint8_t *out, enum socks5_reply code, const uint8_t *addr,
			   size_t addr_len, unsigned port);

#endif
