#include "net/socks5.h"

#include <arpa/inet.h>
#include <string.h>

ssize_t socks5_parse_greeting(const uint8_t *buf, size_t len, bool *no_auth)
{
	*no_auth = false;
	if (len < 1)
		return 0;
	if (buf[0] != SOCKS5_VERSION)
		return -1;
	if (len < 2)
		return 0;
	size_t need = 2 + (size_t)buf[1];
	if (buf[1] == 0)
		return -1;
	if (len < need)
		return 0;
	for (size_t i = 2; i < need; i++)
		if (buf[i] == SOCKS5_NO_AUTH)
			*no_auth = true;
	return (ssize_t)need;
}

ssize_t socks5_parse_request(const uint8_t *buf, size_t len, struct socks5_request *req,
			     enum socks5_reply *reply)
{
	memset(req, 0, sizeof(*req));
	*reply = SOCKS5_GENERAL_FAILURE;
	if (len < 4)
		return len >= 1 && buf[0] != SOCKS5_VERSION ? -1 : 0;
	if (buf[0] != SOCKS5_VERSION || buf[2] != 0)
		return -1;
	req->cmd = buf[1];
	size_t need;
	char text[DOMAIN_HOST_MAX];
	switch (buf[3]) {
	case 0x01:
		need = 4 + 4 + 2;
		if (len < need)
			return 0;
		inet_ntop(AF_INET, buf + 4, text, sizeof(text));
		break;
	case 0x04:
		need = 4 + 16 + 2;
		if (len < need)
			return 0;
		inet_ntop(AF_INET6, buf + 4, text, sizeof(text));
		break;
	case 0x03: {
		if (len < 5)
			return 0;
		size_t n = buf[4];
		need = 5 + n + 2;
		if (len < need)
			return 0;
		if (n == 0 || memchr(buf + 5, '\0', n))
			return -1;
		memcpy(text, buf + 5, n);
		text[n] = '\0';
		break;
	}
	default:
		*reply = SOCKS5_ATYP_UNSUPPORTED;
		return -1;
	}
	/* Checked after the length so that a pipelined request is consumed
	 * whole before it is refused. */
	if (req->cmd != 0x01) {
		*reply = SOCKS5_CMD_UNSUPPORTED;
		return -1;
	}
	req->port = (unsigned)buf[need - 2] << 8 | buf[need - 1];
	if (req->port == 0)
		return -1;
	if (domain_normalize_host(text, req->host) < 0)
		return -1;
	return (ssize_t)need;
}

size_t socks5_encode_reply(uint8_t *out, enum socks5_reply code, const uint8_t *addr,
			   size_t addr_len, unsigned port)
{
	size_t n = 0;
	out[n++] = SOCKS5_VERSION;
	out[n++] = (uint8_t)code;
	out[n++] = 0;
	if (addr && addr_len == 16) {
		out[n++] = 0x04;
		memcpy(out + n, addr, 16);
		n += 16;
	} else {
		out[n++] = 0x01;
		if (addr && addr_len == 4)
			memcpy(out + n, addr, 4);
		else
			memset(out + n, 0, 4);
		n += 4;
	}
	out[n++] = (uint8_t)(port >> 8);
	out[n++] = (uint8_t)port;
	return n;
}
