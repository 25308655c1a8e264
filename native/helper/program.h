/* The init program as the helper holds it after decoding: see ../PROGRAM.md. */
#ifndef NSINIT_PROGRAM_H
#define NSINIT_PROGRAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PROGRAM_VERSION 2u
#define PROGRAM_MAX_SIZE (4u << 20)
#define PROGRAM_MAX_OPS 4096u
#define PROGRAM_MAX_STR 131072u
#define PROGRAM_MAX_LIST 65536u
#define PROGRAM_HEADER_SIZE 12u
#define OP_HEADER_SIZE 8u

/* op_index of an ERROR frame for a malformed program or go frame. */
#define OP_INDEX_NONE 0xffffffffu

enum opcode {
	OP_WAIT_GO = 1,
	OP_SETSID = 2,
	OP_BIND = 3,
	OP_MKDIR = 4,
	OP_MKNOD = 5,
	OP_SYMLINK = 6,
	OP_CREATE_FILE = 7,
	OP_OPEN_ROOT = 8,
	OP_PIVOT_ROOT = 9,
	OP_MOVE_ROOT = 10,
	OP_SETATTR = 11,
	OP_MASK = 12,
	OP_SETHOSTNAME = 13,
	OP_SETDOMAINNAME = 14,
	OP_SETRLIMIT = 15,
	OP_SETGROUPS = 16,
	OP_SETRESGID = 17,
	OP_SETRESUID = 18,
	OP_KEEPCAPS = 19,
	OP_BOUNDING_DROP = 20,
	OP_CAPSET = 21,
	OP_AMBIENT = 22,
	OP_NO_NEW_PRIVS = 23,
	OP_CHDIR = 24,
	OP_UMASK = 25,
	OP_RESET_SIGNALS = 26,
	OP_EXEC = 27,
	OP_DUMPABLE = 28,
	OP_PDEATHSIG = 29,
	OP_CLOEXEC_FROM = 30,
	OP_DUP2 = 31,
	OP_WRITE_FILE = 32,
	OP_CLOSE = 33,
	OP_UNSHARE = 34,
	OP_CHOWN = 35,
	OP_SET_CTTY = 36,
	OP_BIND_FD = 37,
	OP_SETNS = 38,
	OP_FSMOUNT = 39,
	OP_CLONE_PARENT = 40,
	OP_AWAIT_START = 41,
	OP_CHECK_EXEC = 42,
	OP_JOIN_SESSION_KEYRING = 43,
};

/* Op flag bits, per opcode. */
#define BIND_SOURCE_IN_ROOT 1u
#define BIND_TARGET_REAL_DIR 2u
#define BIND_RECURSIVE 4u
#define BIND_ATTR_RECURSIVE 8u
#define BIND_PROPAGATION_RECURSIVE 16u
#define BIND_TARGET_ON_PROC 32u
#define BIND_SOURCE_PROC_ROOT 64u
#define FSMOUNT_TARGET_REAL_DIR 1u
#define FSMOUNT_TARGET_ON_PROC 2u
#define SETATTR_BIND_FIRST 1u
#define SETATTR_RECURSIVE 2u
#define SETATTR_IGNORE_MISSING 4u
#define OPEN_ROOT_BIND 1u
#define OPEN_ROOT_NO_SYMLINKS 2u
#define SYMLINK_IGNORE_EXISTING 1u
#define PDEATHSIG_CHECK_PARENT 1u
#define SETNS_PIDFD 1u
#define BIND_FD_DIRECTORY 1u

#define OP_MAX_ARGS 8

struct strlist {
	uint32_t count;
	char **items; /* count entries and a NULL, ready for execve */
};

struct u32list {
	uint32_t count;
	uint32_t *items;
};

/* One decoded payload field; which member is set follows the opcode's layout. */
union arg {
	uint32_t u32;
	uint64_t u64;
	char *str;
	struct strlist strlist;
	struct u32list u32list;
};

struct op {
	uint16_t code;
	uint16_t flags;
	union arg arg[OP_MAX_ARGS]; /* in payload order */
};

struct program {
	uint32_t count;
	struct op *ops;
};

/* "MOUNT" for OP_MOUNT; NULL for a code that is not an opcode. */
const char *opcode_name(uint32_t code);

/* Decodes and validates a whole program. The strings are NUL-terminated in place,
 * so `buf` must stay alive as long as the program. On failure writes one line
 * naming the op, the field and the byte offset to `err`. */
bool program_decode(uint8_t *buf, size_t size, struct program *program, char *err, size_t err_size);

#endif
