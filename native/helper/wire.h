/* Bounded little-endian reading shared by the program decoder and the sync frames.
 * Every read checks the remaining length before touching a byte; the first failure
 * is written to the cursor's error buffer and every reader returns false. */
#ifndef NSINIT_WIRE_H
#define NSINIT_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cursor {
	uint8_t *pos;
	size_t left;
	size_t offset; /* of pos from the start of the input, for error messages */
	char *err;
	size_t err_size;
};

struct cursor cursor_start(uint8_t *buf, size_t size, char *err, size_t err_size);

/* Formats "<what>: <message> (byte <offset>)" into the error buffer; returns false. */
bool cursor_fail(const struct cursor *c, const char *what, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

bool cursor_bytes(struct cursor *c, size_t n, const char *what, uint8_t **out);
bool cursor_u16(struct cursor *c, const char *what, uint16_t *out);
bool cursor_u32(struct cursor *c, const char *what, uint32_t *out);
bool cursor_u64(struct cursor *c, const char *what, uint64_t *out);

/* Moves the next n bytes into a cursor of their own (an op payload, a frame payload). */
bool cursor_split(struct cursor *c, size_t n, const char *what, struct cursor *part);

/* A `len:u32 bytes` string of at most max bytes without NUL. The bytes move down over
 * their already-read length prefix and get a terminating NUL there, so the result is
 * a C string inside the input buffer. */
bool cursor_str(struct cursor *c, uint32_t max, const char *what, char **out);

/* Fails unless every byte was consumed. */
bool cursor_end(const struct cursor *c, const char *what);

#endif
