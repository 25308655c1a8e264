/* Decoding and validation of the init program (../PROGRAM.md, "Encoding"). Nothing runs
 * until the whole program has passed: every op is described once in `layouts`, and one
 * generic loop reads its payload field by field. */
#include "program.h"


#include <inttypes.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "sys.h"
#include "wire.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

struct cursor cursor_start(uint8_t *buf, size_t size, char *err, size_t err_size)
{
	return (struct cursor){ .pos = buf, .left = size, .offset = 0, .err = err, .err_size = err_size };
}

bool cursor_fail(const struct cursor *c, const char *what, const char *fmt, ...)
{
	char message[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(message, sizeof message, fmt, ap);
	va_end(ap);
	snprintf(c->err, c->err_size, "%s: %s (byte %zu)", what, message, c->offset);
	return false;
}

static void advance(struct cursor *c, size_t n)
{
	c->pos += n;
	c->left -= n;
	c->offset += n;
}

bool cursor_bytes(struct cursor *c, size_t n, const char *what, uint8_t **out)
{
	if (n > c->left)
		return cursor_fail(c, what, "truncated: needs %zu bytes, %zu left", n, c->left);
	*out = c->pos;
	advance(c, n);
	return true;
}

bool cursor_u16(struct cursor *c, const char *what, uint16_t *out)
{
	uint8_t *p = NULL;
	if (!cursor_bytes(c, 2, what, &p))
		return false;
	*out = (uint16_t)(p[0] | p[1] << 8);
	return true;
}

bool cursor_u32(struct cursor *c, const char *what, uint32_t *out)
{
	uint8_t *p = NULL;
	if (!cursor_bytes(c, 4, what, &p))
		return false;
	*out = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
	return true;
}

bool cursor_u64(struct cursor *c, const char *what, uint64_t *out)
{
	uint32_t low, high;
	if (!cursor_u32(c, what, &low) || !cursor_u32(c, what, &high))
		return false;
	*out = (uint64_t)high << 32 | low;
	return true;
}

bool cursor_split(struct cursor *c, size_t n, const char *what, struct cursor *part)
{
	if (n > c->left)
		return cursor_fail(c, what, "truncated: payload of %zu bytes, %zu left", n, c->left);
	*part = *c;
	part->left = n;
	advance(c, n);
	return true;
}

bool cursor_str(struct cursor *c, uint32_t max, const char *what, char **out)
{
	uint8_t *prefix = c->pos;
	uint32_t len;
	uint8_t *bytes = NULL;
	if (!cursor_u32(c, what, &len))
		return false;
	if (len > max)
		return cursor_fail(c, what, "string of %" PRIu32 " bytes exceeds the limit of %" PRIu32, len, max);
	if (!cursor_bytes(c, len, what, &bytes))
		return false;
	if (memchr(bytes, 0, len))
		return cursor_fail(c, what, "string contains a NUL byte");
	memmove(prefix, bytes, len);
	prefix[len] = 0;
	*out = (char *)prefix;
	return true;
}

bool cursor_end(const struct cursor *c, const char *what)
{
	if (c->left != 0)
		return cursor_fail(c, what, "%zu unexpected bytes left over", c->left);
	return true;
}

enum arg_kind { ARG_NONE, ARG_U32, ARG_U64, ARG_STR, ARG_PATH, ARG_STRLIST, ARG_U32LIST };

struct arg_layout {
	enum arg_kind kind;
	const char *name;
	uint32_t max; /* ARG_U32 only */
};

struct op_layout {
	const char *name;
	uint16_t flags; /* the op flag bits this opcode accepts */
	struct arg_layout args[OP_MAX_ARGS];
};

#define U32(n, m) { ARG_U32, n, m }
#define U64(n) { ARG_U64, n, 0 }
#define STR(n) { ARG_STR, n, 0 }
#define PATH(n) { ARG_PATH, n, 0 } /* a string that must start with '/' */
#define STRLIST(n) { ARG_STRLIST, n, 0 }
#define U32LIST(n) { ARG_U32LIST, n, 0 }
#define FD(n) U32(n, INT32_MAX)
#define BOOL(n) U32(n, 1)
#define MODE(n) U32(n, 07777)
/* (uid_t)-1 tells setresuid "leave unchanged": a program must never ask for it by accident. */
#define ID(n) U32(n, UINT32_MAX - 1)
/* The kernel's dev_t for mknod holds a 12-bit major and a 20-bit minor. */
#define MAJOR(n) U32(n, 0xfff)
#define MINOR(n) U32(n, 0xfffff)
#define NONE { { ARG_NONE, NULL, 0 } }
/* mount_setattr(2)'s attributes this helper sets or clears; the atime mode is checked in check_op. */
#define MOUNT_ATTRS_KNOWN                                                                                    \
	(MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC | MOUNT_ATTR__ATIME |      \
	 MOUNT_ATTR_NODIRATIME | MOUNT_ATTR_NOSYMFOLLOW)
#define ATTRS(n) U32(n, UINT32_MAX)
#define PROPAGATION(n) U32(n, UINT32_MAX)

static const struct op_layout layouts[] = {
	[OP_WAIT_GO] = { "WAIT_GO", 0, { FD("fd") } },
	[OP_SETSID] = { "SETSID", 0, NONE },
	[OP_BIND] = { "BIND",
		      BIND_SOURCE_IN_ROOT | BIND_TARGET_REAL_DIR | BIND_RECURSIVE | BIND_ATTR_RECURSIVE |
			      BIND_PROPAGATION_RECURSIVE | BIND_TARGET_ON_PROC | BIND_SOURCE_PROC_ROOT,
		      { PATH("source"), PATH("target"), ATTRS("attr_set"), ATTRS("attr_clr"), PROPAGATION("propagation") } },
	[OP_MKDIR] = { "MKDIR", 0, { PATH("path"), MODE("mode") } },
	[OP_MKNOD] = { "MKNOD", 0, { PATH("path"), U32("mode", UINT32_MAX), MAJOR("major"), MINOR("minor") } },
	[OP_SYMLINK] = { "SYMLINK", SYMLINK_IGNORE_EXISTING, { STR("target"), PATH("path") } },
	[OP_CREATE_FILE] = { "CREATE_FILE", 0, { PATH("path"), MODE("mode") } },
	[OP_OPEN_ROOT] = { "OPEN_ROOT", OPEN_ROOT_BIND | OPEN_ROOT_NO_SYMLINKS, { PATH("path"), ATTRS("attr_set") } },
	[OP_PIVOT_ROOT] = { "PIVOT_ROOT", 0, NONE },
	[OP_MOVE_ROOT] = { "MOVE_ROOT", 0, NONE },
	[OP_SETATTR] = { "SETATTR", SETATTR_BIND_FIRST | SETATTR_RECURSIVE | SETATTR_IGNORE_MISSING,
			 { PATH("path"), ATTRS("attr_set"), ATTRS("attr_clr"), PROPAGATION("propagation") } },
	[OP_MASK] = { "MASK", 0, { PATH("path") } },
	[OP_SETHOSTNAME] = { "SETHOSTNAME", 0, { STR("name") } },
	[OP_SETDOMAINNAME] = { "SETDOMAINNAME", 0, { STR("name") } },
	[OP_SETRLIMIT] = { "SETRLIMIT", 0, { U32("resource", RLIM_NLIMITS - 1), U64("soft"), U64("hard") } },
	[OP_SETGROUPS] = { "SETGROUPS", 0, { U32LIST("gids") } },
	[OP_SETRESGID] = { "SETRESGID", 0, { ID("gid") } },
	[OP_SETRESUID] = { "SETRESUID", 0, { ID("uid") } },
	[OP_KEEPCAPS] = { "KEEPCAPS", 0, { BOOL("on") } },
	[OP_BOUNDING_DROP] = { "BOUNDING_DROP", 0, { U64("mask") } },
	[OP_CAPSET] = { "CAPSET", 0, { U64("effective"), U64("permitted"), U64("inheritable") } },
	[OP_AMBIENT] = { "AMBIENT", 0, { U64("mask") } },
	[OP_NO_NEW_PRIVS] = { "NO_NEW_PRIVS", 0, NONE },
	[OP_CHDIR] = { "CHDIR", 0, { PATH("path") } },
	[OP_UMASK] = { "UMASK", 0, { U32("mask", 0777) } },
	[OP_RESET_SIGNALS] = { "RESET_SIGNALS", 0, NONE },
	[OP_EXEC] = { "EXEC", 0, { STRLIST("args"), STRLIST("env") } },
	[OP_DUMPABLE] = { "DUMPABLE", 0, { BOOL("on") } },
	[OP_PDEATHSIG] = { "PDEATHSIG", PDEATHSIG_CHECK_PARENT, { U32("signal", NSIG - 1) } },
	[OP_CLOEXEC_FROM] = { "CLOEXEC_FROM", 0, { FD("fd") } },
	[OP_DUP2] = { "DUP2", 0, { FD("from"), FD("to") } },
	[OP_WRITE_FILE] = { "WRITE_FILE", 0, { PATH("path"), STR("data") } },
	[OP_CLOSE] = { "CLOSE", 0, { FD("fd") } },
	[OP_UNSHARE] = { "UNSHARE", 0, { U64("flags") } },
	[OP_CHOWN] = { "CHOWN", 0, { PATH("path"), ID("uid"), ID("gid") } },
	[OP_SET_CTTY] = { "SET_CTTY", 0, { FD("fd") } },
	[OP_BIND_FD] = { "BIND_FD", BIND_FD_DIRECTORY, { FD("fd"), PATH("target") } },
	[OP_SETNS] = { "SETNS", SETNS_PIDFD, { FD("fd"), U32("nstype", UINT32_MAX) } },
	[OP_FSMOUNT] = { "FSMOUNT", FSMOUNT_TARGET_REAL_DIR | FSMOUNT_TARGET_ON_PROC,
			 { STR("fstype"), STR("source"), STRLIST("options"), PATH("target"), ATTRS("attr_set"),
			   PROPAGATION("propagation"), STRLIST("dirs"), STRLIST("links") } },
	[OP_CLONE_PARENT] = { "CLONE_PARENT", 0, NONE },
	[OP_AWAIT_START] = { "AWAIT_START", 0, { FD("fd") } },
	[OP_CHECK_EXEC] = { "CHECK_EXEC", 0, { STRLIST("args"), STRLIST("env") } },
	[OP_JOIN_SESSION_KEYRING] = { "JOIN_SESSION_KEYRING", 0, { STR("name") } },
};

static const struct op_layout *layout_of(uint32_t code)
{
	if (code >= ARRAY_SIZE(layouts) || layouts[code].name == NULL)
		return NULL;
	return &layouts[code];
}

const char *opcode_name(uint32_t code)
{
	const struct op_layout *layout = layout_of(code);
	return layout ? layout->name : NULL;
}

static bool decode_strlist(struct cursor *c, const char *what, struct strlist *out)
{
	if (!cursor_u32(c, what, &out->count))
		return false;
	if (out->count > PROGRAM_MAX_LIST)
		return cursor_fail(c, what, "%" PRIu32 " entries exceed the limit of %u", out->count,
				   PROGRAM_MAX_LIST);
	/* Each entry takes at least its 4-byte length: refuse a count the payload cannot hold
	 * before allocating for it. */
	if (out->count > c->left / 4)
		return cursor_fail(c, what, "%" PRIu32 " entries cannot fit in %zu bytes", out->count, c->left);
	out->items = calloc((size_t)out->count + 1, sizeof *out->items);
	if (!out->items)
		return cursor_fail(c, what, "out of memory");
	for (uint32_t i = 0; i < out->count; i++)
		if (!cursor_str(c, PROGRAM_MAX_STR, what, &out->items[i]))
			return false;
	return true;
}

static bool decode_u32list(struct cursor *c, const char *what, struct u32list *out)
{
	if (!cursor_u32(c, what, &out->count))
		return false;
	if (out->count > PROGRAM_MAX_LIST)
		return cursor_fail(c, what, "%" PRIu32 " entries exceed the limit of %u", out->count,
				   PROGRAM_MAX_LIST);
	if (out->count > c->left / 4)
		return cursor_fail(c, what, "%" PRIu32 " entries cannot fit in %zu bytes", out->count, c->left);
	out->items = calloc(out->count ? out->count : 1, sizeof *out->items);
	if (!out->items)
		return cursor_fail(c, what, "out of memory");
	for (uint32_t i = 0; i < out->count; i++)
		if (!cursor_u32(c, what, &out->items[i]))
			return false;
	return true;
}

static bool decode_arg(struct cursor *c, const struct arg_layout *layout, const char *what, union arg *out)
{
	switch (layout->kind) {
	case ARG_U32:
		if (!cursor_u32(c, what, &out->u32))
			return false;
		if (out->u32 > layout->max)
			return cursor_fail(c, what, "%" PRIu32 " is above the limit of %" PRIu32, out->u32,
					   layout->max);
		return true;
	case ARG_U64:
		return cursor_u64(c, what, &out->u64);
	case ARG_STR:
		return cursor_str(c, PROGRAM_MAX_STR, what, &out->str);
	case ARG_PATH:
		if (!cursor_str(c, PROGRAM_MAX_STR, what, &out->str))
			return false;
		if (out->str[0] != '/')
			return cursor_fail(c, what, "path \"%.200s\" is not absolute", out->str);
		return true;
	case ARG_STRLIST:
		return decode_strlist(c, what, &out->strlist);
	case ARG_U32LIST:
		return decode_u32list(c, what, &out->u32list);
	case ARG_NONE:
		break;
	}
	return cursor_fail(c, what, "no such field");
}

static bool is_single_name(const char *name)
{
	return *name && !strchr(name, '/') && strcmp(name, ".") && strcmp(name, "..");
}

/* The kernel takes an atime mode only together with clearing the old one, and one mode at a time. */
static bool check_attrs(const struct cursor *c, const char *what, uint32_t set, uint32_t clear)
{
	uint32_t atime = set & MOUNT_ATTR__ATIME;
	if ((set | clear) & ~(uint32_t)MOUNT_ATTRS_KNOWN)
		return cursor_fail(c, what, "unknown mount attributes 0x%" PRIx32, (set | clear) & ~(uint32_t)MOUNT_ATTRS_KNOWN);
	if (atime != MOUNT_ATTR_RELATIME && atime != MOUNT_ATTR_NOATIME && atime != MOUNT_ATTR_STRICTATIME)
		return cursor_fail(c, what, "atime mode 0x%" PRIx32 " is not one of relatime, noatime, strictatime", atime);
	if (atime && (clear & MOUNT_ATTR__ATIME) != MOUNT_ATTR__ATIME)
		return cursor_fail(c, what, "an atime mode needs the whole atime field cleared");
	if ((clear & MOUNT_ATTR__ATIME) && (clear & MOUNT_ATTR__ATIME) != MOUNT_ATTR__ATIME)
		return cursor_fail(c, what, "the atime field is cleared as a whole or not at all");
	return true;
}

static bool check_propagation(const struct cursor *c, const char *what, uint32_t propagation)
{
	if (propagation != 0 && propagation != MS_PRIVATE && propagation != MS_SLAVE && propagation != MS_SHARED &&
	    propagation != MS_UNBINDABLE)
		return cursor_fail(c, what, "propagation 0x%" PRIx32 " is not one of MS_PRIVATE, MS_SLAVE, MS_SHARED, MS_UNBINDABLE",
				   propagation);
	return true;
}

/* Rules that span fields: what no single field layout can say. */
static bool check_op(const struct cursor *c, const char *what, const struct op *op)
{
	switch (op->code) {
	case OP_BIND:
		return check_attrs(c, what, op->arg[2].u32, op->arg[3].u32) && check_propagation(c, what, op->arg[4].u32);
	case OP_SETATTR:
		return check_attrs(c, what, op->arg[1].u32, op->arg[2].u32) && check_propagation(c, what, op->arg[3].u32);
	case OP_OPEN_ROOT:
		if (op->arg[1].u32 && !(op->flags & OPEN_ROOT_BIND))
			return cursor_fail(c, what, "attr_set needs flag BIND");
		return check_attrs(c, what, op->arg[1].u32, op->arg[1].u32 & MOUNT_ATTR__ATIME ? MOUNT_ATTR__ATIME : 0);
	case OP_FSMOUNT: {
		const struct strlist *dirs = &op->arg[6].strlist, *links = &op->arg[7].strlist;
		if (!op->arg[0].str[0])
			return cursor_fail(c, what, "fstype is empty");
		if (!check_attrs(c, what, op->arg[4].u32, op->arg[4].u32 & MOUNT_ATTR__ATIME ? MOUNT_ATTR__ATIME : 0) ||
		    !check_propagation(c, what, op->arg[5].u32))
			return false;
		for (uint32_t i = 0; i < op->arg[2].strlist.count; i++)
			if (!op->arg[2].strlist.items[i][0] || op->arg[2].strlist.items[i][0] == '=')
				return cursor_fail(c, what, "option %" PRIu32 " has no name", i);
		if (links->count % 2)
			return cursor_fail(c, what, "links holds %" PRIu32 " strings, not name/target pairs", links->count);
		for (uint32_t i = 0; i < dirs->count; i++)
			if (!is_single_name(dirs->items[i]))
				return cursor_fail(c, what, "dir \"%.200s\" is not one path component", dirs->items[i]);
		for (uint32_t i = 0; i < links->count; i += 2)
			if (!is_single_name(links->items[i]))
				return cursor_fail(c, what, "link \"%.200s\" is not one path component", links->items[i]);
		return true;
	}
	case OP_MKNOD: {
		uint32_t mode = op->arg[1].u32;
		uint32_t type = mode & S_IFMT;
		if (mode & ~(uint32_t)(S_IFMT | 07777) || (type != S_IFCHR && type != S_IFBLK && type != S_IFIFO))
			return cursor_fail(c, what, "mode 0%" PRIo32 " is not a device or fifo mode", mode);
		return true;
	}
	case OP_UNSHARE: {
		const uint64_t namespaces = CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET | CLONE_NEWCGROUP;
		if (op->arg[0].u64 == 0 || op->arg[0].u64 & ~namespaces)
			return cursor_fail(c, what, "flags 0x%" PRIx64 " are not namespace flags this helper may unshare",
					   op->arg[0].u64);
		return true;
	}
	case OP_SETNS: {
		/* 0 would join whatever the fd is; a program always says which namespaces it means. A
		 * namespace fd names one namespace; a pidfd (flag PIDFD) enters several of the
		 * process's at once, atomically, and may include its user namespace. */
		const uint32_t one = CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET | CLONE_NEWCGROUP |
				     CLONE_NEWPID | CLONE_NEWTIME;
		uint32_t nstype = op->arg[1].u32;
		if (op->flags & SETNS_PIDFD) {
			if (nstype == 0 || nstype & ~(one | CLONE_NEWUSER))
				return cursor_fail(c, what, "nstype 0x%" PRIx32 " is not a set of namespace flags this helper may join",
						   nstype);
		} else if (nstype == 0 || nstype & ~one || (nstype & (nstype - 1))) {
			return cursor_fail(c, what, "nstype 0x%" PRIx32 " is not one namespace flag this helper may join", nstype);
		}
		return true;
	}
	case OP_EXEC:
	case OP_CHECK_EXEC:
		if (op->arg[0].strlist.count == 0)
			return cursor_fail(c, what, "args is empty");
		return true;
	}
	return true;
}

static bool decode_op(struct cursor *c, uint32_t index, struct op *op)
{
	char what[96];
	uint32_t payload_len;
	struct cursor payload;

	snprintf(what, sizeof what, "op %" PRIu32, index);
	if (!cursor_u16(c, what, &op->code) || !cursor_u16(c, what, &op->flags) ||
	    !cursor_u32(c, what, &payload_len))
		return false;
	const struct op_layout *layout = layout_of(op->code);
	if (!layout)
		return cursor_fail(c, what, "unknown opcode %u", op->code);
	snprintf(what, sizeof what, "op %" PRIu32 " %s", index, layout->name);
	if (op->flags & ~layout->flags)
		return cursor_fail(c, what, "unknown flag bits 0x%x", op->flags & ~layout->flags);
	if (!cursor_split(c, payload_len, what, &payload))
		return false;
	for (size_t i = 0; i < OP_MAX_ARGS && layout->args[i].kind != ARG_NONE; i++) {
		char arg_what[128];
		snprintf(arg_what, sizeof arg_what, "%s %s", what, layout->args[i].name);
		if (!decode_arg(&payload, &layout->args[i], arg_what, &op->arg[i]))
			return false;
	}
	return cursor_end(&payload, what) && check_op(c, what, op);
}

/* The ops that write a frame do so at most once each, PID before READY (../PROGRAM.md, "Sync
 * frames"): a program that would break that order is refused before anything runs. */
struct frame_ops {
	uint32_t clone_parent, await_start; /* op index, or OP_INDEX_NONE */
};

static bool check_frame_order(const struct cursor *c, struct frame_ops *seen, uint32_t index, uint16_t code)
{
	if (code == OP_CLONE_PARENT) {
		if (seen->clone_parent != OP_INDEX_NONE)
			return cursor_fail(c, "program", "a second CLONE_PARENT at op %" PRIu32 " (the first is op %" PRIu32 ")",
					   index, seen->clone_parent);
		if (seen->await_start != OP_INDEX_NONE)
			return cursor_fail(c, "program",
					   "CLONE_PARENT at op %" PRIu32 " comes after AWAIT_START at op %" PRIu32
					   " (the PID frame goes before READY)",
					   index, seen->await_start);
		seen->clone_parent = index;
	} else if (code == OP_AWAIT_START) {
		if (seen->await_start != OP_INDEX_NONE)
			return cursor_fail(c, "program", "a second AWAIT_START at op %" PRIu32 " (the first is op %" PRIu32 ")",
					   index, seen->await_start);
		seen->await_start = index;
	}
	return true;
}

bool program_decode(uint8_t *buf, size_t size, struct program *program, char *err, size_t err_size)
{
	struct frame_ops frame_ops = { OP_INDEX_NONE, OP_INDEX_NONE };
	struct cursor c = cursor_start(buf, size, err, err_size);
	uint8_t *magic = NULL;
	uint32_t version;

	if (size > PROGRAM_MAX_SIZE)
		return cursor_fail(&c, "program", "%zu bytes exceed the limit of %u", size, PROGRAM_MAX_SIZE);
	if (!cursor_bytes(&c, 4, "header", &magic) || !cursor_u32(&c, "header", &version) ||
	    !cursor_u32(&c, "header", &program->count))
		return false;
	if (memcmp(magic, "NSIP", 4) != 0)
		return cursor_fail(&c, "header", "bad magic (not an nsinit program)");
	if (version != PROGRAM_VERSION)
		return cursor_fail(&c, "header", "version %" PRIu32 " is not supported (this helper reads %u)",
				   version, PROGRAM_VERSION);
	if (program->count == 0 || program->count > PROGRAM_MAX_OPS)
		return cursor_fail(&c, "header", "op count %" PRIu32 " is outside 1..%u", program->count,
				   PROGRAM_MAX_OPS);
	if (program->count > c.left / OP_HEADER_SIZE)
		return cursor_fail(&c, "header", "%" PRIu32 " ops cannot fit in %zu bytes", program->count, c.left);
	program->ops = calloc(program->count, sizeof *program->ops);
	if (!program->ops)
		return cursor_fail(&c, "program", "out of memory");

	for (uint32_t i = 0; i < program->count; i++) {
		if (!decode_op(&c, i, &program->ops[i]) || !check_frame_order(&c, &frame_ops, i, program->ops[i].code))
			return false;
		/* EXEC only returns on failure: anything after it could never run. */
		bool exec = program->ops[i].code == OP_EXEC, last = i + 1 == program->count;
		if (exec && !last)
			return cursor_fail(&c, "program", "EXEC at op %" PRIu32 " is not the last op", i);
		if (last && !exec)
			return cursor_fail(&c, "program", "the last op must be EXEC");
	}
	return cursor_end(&c, "program");
}
