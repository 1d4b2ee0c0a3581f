#include "net/http_body.h"

/* The chunked syntax (RFC 9112 section 7.1), one byte at a time:
 * size [; ext] CRLF data CRLF ... 0 [; ext] CRLF *(trailer CRLF) CRLF */
enum {
	C_SIZE,      /* hex digits of a chunk size */
	C_EXT,       /* after ';' up to CR */
	C_SIZE_LF,   /* CR seen after the size line */
	C_DATA,      /* `left` bytes of data */
	C_DATA_CR,   /* CRLF after the data */
	C_DATA_LF,
	C_TRAILER,   /* start of a trailer line, or the final CRLF */
	C_TRAILER_LINE,
	C_TRAILER_LF, /* CR inside a trailer line */
	C_END_LF,    /* CR of the final empty line */
};

/* 15 hex digits: a size below 2^60, more than any real body. */
#define MAX_DIGITS 15

void http_body_init(struct http_body *b, enum http_body_kind kind, uint64_t length)
{
	*b = (struct http_body){.kind = kind, .state = C_SIZE};
	if (kind == HTTP_BODY_LENGTH)
		b->left = length;
	b->done = kind == HTTP_BODY_NONE || (kind == HTTP_BODY_LENGTH && length == 0);
}

static int hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* One byte of the chunked syntax; false when it does not fit. */
static bool chunk_byte(struct http_body *b, char c)
{
	switch (b->state) {
	case C_SIZE: {
		int v = hex(c);
		if (v >= 0) {
			if (++b->digits > MAX_DIGITS)
				return false;
			b->left = b->left * 16 + (uint64_t)v;
			return true;
		}
		if (!b->digits)
			return false;
		if (c == ';')
			b->state = C_EXT;
		else if (c == '\r')
			b->state = C_SIZE_LF;
		else
			return false;
		return true;
	}
	case C_EXT:
		if (c == '\r') {
			b->state = C_SIZE_LF;
			return true;
		}
		return c == '\t' || ((unsigned char)c >= 0x20 && c != 0x7f);
	case C_SIZE_LF:
		if (c != '\n')
			return false;
		b->digits = 0;
		b->state = b->left ? C_DATA : C_TRAILER;
		return true;
	case C_DATA:
		if (--b->left == 0)
			b->state = C_DATA_CR;
		return true;
	case C_DATA_CR:
		b->state = C_DATA_LF;
		return c == '\r';
	case C_DATA_LF:
		b->state = C_SIZE;
		return c == '\n';
	case C_TRAILER:
		if (c == '\r')
			b->state = C_END_LF;
		else if (c == '\n')
			return false;
		else
			b->state = C_TRAILER_LINE;
		return true;
	case C_TRAILER_LINE:
		if (c == '\r')
			b->state = C_TRAILER_LF;
		else if (c == '\n')
			return false;
		return true;
	case C_TRAILER_LF:
		b->state = C_TRAILER;
		return c == '\n';
	case C_END_LF:
		if (c != '\n')
			return false;
		b->done = true;
		return true;
	}
	return false;
}

size_t http_body_feed(struct http_body *b, const char *p, size_t n)
{
	size_t used = 0;
	while (used < n && !b->done && !b->bad) {
		if (b->kind == HTTP_BODY_LENGTH) {
			size_t take = b->left < n - used ? (size_t)b->left : n - used;
			b->left -= take;
			used += take;
			b->done = b->left == 0;
		} else if (b->kind == HTTP_BODY_CHUNKED) {
			if (b->state == C_DATA) {
				/* data in one step: a megabyte chunk is not a
				 * million calls */
				size_t take = b->left < n - used ? (size_t)b->left : n - used;
				b->left -= take;
				used += take;
				if (b->left == 0)
					b->state = C_DATA_CR;
				continue;
			}
			if (!chunk_byte(b, p[used])) {
				b->bad = true;
				break;
			}
			used++;
		} else {
			b->done = true;
		}
	}
	return used;
}

void http_body_skip(struct http_body *b, size_t n)
{
	/* only what http_body_blind allowed: no byte of it is looked at */
	http_body_feed(b, NULL, n);
}

uint64_t http_body_blind(const struct http_body *b)
{
	if (b->done || b->bad)
		return 0;
	if (b->kind == HTTP_BODY_LENGTH)
		return b->left;
	if (b->kind == HTTP_BODY_CHUNKED && b->state == C_DATA)
		return b->left;
	return 0;
}
