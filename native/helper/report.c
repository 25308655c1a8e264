/* The helper's side of the sync frames: it reads one CONTEXT frame (the go signal) and
 * writes at most one PID, one READY and one ERROR frame, in that order. */
#include "report.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "wire.h"

static const uint8_t frame_magic[4] = { 'N', 'S', 'S', 'P' };

bool context_decode(uint8_t *buf, size_t size, struct go_context *context, char *err, size_t err_size)
{
	struct cursor c = cursor_start(buf, size, err, err_size);
	struct cursor payload;
	uint8_t *magic = NULL;
	uint16_t type, reserved;
	uint32_t payload_len, count;

	if (size == 0) {
		snprintf(err, err_size, "go frame: the channel closed without one (the parent went away)");
		return false;
	}
	if (!cursor_bytes(&c, 4, "go frame", &magic) || !cursor_u16(&c, "go frame", &type) ||
	    !cursor_u16(&c, "go frame", &reserved) || !cursor_u32(&c, "go frame", &payload_len))
		return false;
	if (memcmp(magic, frame_magic, sizeof frame_magic) != 0)
		return cursor_fail(&c, "go frame", "bad magic (not a sync frame)");
	if (type != FRAME_CONTEXT)
		return cursor_fail(&c, "go frame", "type %u is not CONTEXT (%u)", type, FRAME_CONTEXT);
	if (reserved != 0)
		return cursor_fail(&c, "go frame", "reserved field is %u, not 0", reserved);
	if (payload_len > FRAME_MAX_PAYLOAD)
		return cursor_fail(&c, "go frame", "payload of %" PRIu32 " bytes exceeds the limit of %u",
				   payload_len, FRAME_MAX_PAYLOAD);
	if (!cursor_split(&c, payload_len, "go frame", &payload) || !cursor_end(&c, "go frame"))
		return false;

	if (!cursor_u32(&payload, "context", &count))
		return false;
	if (count > CONTEXT_MAX_ENTRIES)
		return cursor_fail(&payload, "context", "%" PRIu32 " entries exceed the limit of %u", count,
				   CONTEXT_MAX_ENTRIES);
	for (uint32_t i = 0; i < count; i++)
		if (!cursor_str(&payload, CONTEXT_MAX_STR, "context key", &context->keys[i]) ||
		    !cursor_str(&payload, CONTEXT_MAX_STR, "context value", &context->values[i]))
			return false;
	if (!cursor_end(&payload, "context"))
		return false;
	context->count = count;
	return true;
}

/* Length of the well-formed UTF-8 sequence at s (NUL-terminated), or 0 when the byte at s
 * starts none: overlong forms, surrogates and code points past U+10FFFF are not valid. */
static size_t utf8_sequence(const uint8_t *s)
{
	size_t n;
	uint32_t cp, min;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, cp = s[0] & 0x1f, min = 0x80;
	else if ((s[0] & 0xf0) == 0xe0)
		n = 3, cp = s[0] & 0x0f, min = 0x800;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, cp = s[0] & 0x07, min = 0x10000;
	else
		return 0;
	/* A continuation test fails on the terminating NUL, so this never reads past it. */
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

static size_t copy_detail(uint8_t *dst, const char *detail)
{
	const uint8_t *s = (const uint8_t *)detail;
	size_t len = 0;

	while (*s) {
		size_t n = utf8_sequence(s);
		if (len + (n ? n : 1) > DETAIL_MAX)
			break;
		if (n) {
			memcpy(dst + len, s, n);
			len += n;
			s += n;
		} else {
			dst[len++] = '?';
			s++;
		}
	}
	return len;
}

static void put_u16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put_u32(uint8_t *p, uint32_t v)
{
	put_u16(p, (uint16_t)v);
	put_u16(p + 2, (uint16_t)(v >> 16));
}

/* The whole frame or nothing usable: a short write leaves the parent a truncated frame, which
 * its decoder rejects. MSG_NOSIGNAL: a parent that closed its end must not kill the helper. */
static int send_frame(int fd, uint16_t type, uint8_t *frame, size_t payload_len)
{
	memcpy(frame, frame_magic, sizeof frame_magic);
	put_u16(frame + 4, type);
	put_u16(frame + 6, 0);
	put_u32(frame + 8, (uint32_t)payload_len);

	const uint8_t *p = frame;
	size_t left = FRAME_HEADER_SIZE + payload_len;
	while (left > 0) {
		ssize_t n = send(fd, p, left, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0) {
			errno = EIO;
			return -1;
		}
		p += n;
		left -= (size_t)n;
	}
	return 0;
}

int report_pid(int fd, uint32_t pid)
{
	uint8_t frame[FRAME_HEADER_SIZE + 4];
	put_u32(frame + FRAME_HEADER_SIZE, pid);
	return send_frame(fd, FRAME_PID, frame, 4);
}

int report_ready(int fd)
{
	uint8_t frame[FRAME_HEADER_SIZE];
	return send_frame(fd, FRAME_READY, frame, 0);
}

void report_error(int fd, uint32_t op_index, uint16_t opcode, int32_t error, const char *detail)
{
	enum { FIXED = 16 }; /* op_index, opcode, reserved, errno, detail length */
	uint8_t frame[FRAME_HEADER_SIZE + FIXED + DETAIL_MAX];
	uint8_t *payload = frame + FRAME_HEADER_SIZE;
	size_t detail_len = copy_detail(payload + FIXED, detail);

	put_u32(payload, op_index);
	put_u16(payload + 4, opcode);
	put_u16(payload + 6, 0);
	put_u32(payload + 8, (uint32_t)error);
	put_u32(payload + 12, (uint32_t)detail_len);
	/* Nobody is left to tell about a report that cannot be sent. */
	(void)send_frame(fd, FRAME_ERROR, frame, FIXED + detail_len);
}
