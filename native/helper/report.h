/* The sync frames on the report socket (../PROGRAM.md, "Sync frames"). The child writes at most
 * one PID, one READY and one ERROR frame, in that order. */
#ifndef NSINIT_REPORT_H
#define NSINIT_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FRAME_HEADER_SIZE 12u
#define FRAME_MAX_PAYLOAD 65536u
#define FRAME_CONTEXT 1u
#define FRAME_ERROR 2u
#define FRAME_PID 3u
#define FRAME_READY 4u
#define CONTEXT_MAX_ENTRIES 256u
#define CONTEXT_MAX_STR 4096u
#define DETAIL_MAX 4096u

/* The parent's CONTEXT frame; keys and values point into the frame's buffer. */
struct go_context {
	uint32_t count;
	char *keys[CONTEXT_MAX_ENTRIES];
	char *values[CONTEXT_MAX_ENTRIES];
};

/* Decodes exactly one CONTEXT frame filling all of buf; on failure says why in err. */
bool context_decode(uint8_t *buf, size_t size, struct go_context *context, char *err, size_t err_size);

/* Writes a PID frame (CLONE_PARENT: the new process's pid as this helper sees it). Returns 0,
 * or -1 with errno when the frame could not be written whole. */
int report_pid(int fd, uint32_t pid);

/* Writes a READY frame (AWAIT_START: the child is ready and waits for the start). Returns 0, or
 * -1 with errno when the frame could not be written whole. */
int report_ready(int fd);

/* Writes one ERROR frame. `detail` is cut to DETAIL_MAX bytes and made valid UTF-8 (a byte
 * that starts no valid sequence becomes '?'), since the parent decodes it as text.
 * Failures are ignored: after a failed report nothing is left to tell anyone. */
void report_error(int fd, uint32_t op_index, uint16_t opcode, int32_t error, const char *detail);

#endif
