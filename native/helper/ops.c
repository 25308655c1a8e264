/* The operations of the init program. Each handler either succeeds or records an errno and
 * a short detail naming the path or value, and returns -1; the runner reports that as the
 * op's ERROR frame. Every fd opened here is O_CLOEXEC and closed when its scope ends. */
#include "ops.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <linux/magic.h>

/* The inode number of every procfs root (fs/proc/internal.h). */
#define PROC_ROOT_INO 1
#include <sys/sysmacros.h>
#include <unistd.h>

#include "report.h"
#include "sys.h"

struct run_state {
	int root_fd; /* O_PATH directory every "in root" path resolves in */
	int report_fd;
	/* From WAIT_GO. No op reads it yet: the network ops will. */
	struct go_context context;
	/* The failure being reported. */
	int error;
	bool bad_go_frame; /* reported with OP_INDEX_NONE, like a malformed program */
	char detail[DETAIL_MAX + 1];
};

typedef int op_handler(struct run_state *st, const struct op *op);

static int fail(struct run_state *st, int error, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(struct run_state *st, int error, const char *fmt, ...)
{
	va_list ap;
	st->error = error;
	va_start(ap, fmt);
	vsnprintf(st->detail, sizeof st->detail, fmt, ap);
	va_end(ap);
	return -1;
}

static void close_fd(const int *fd)
{
	if (*fd >= 0)
		close(*fd);
}
#define AUTOCLOSE __attribute__((cleanup(close_fd)))

/* Symlinks met on the way resolve as if the root were "/", so they never lead out of it. */
static int open_in_root(const struct run_state *st, const char *path, int flags)
{
	struct open_how how = {
		.flags = (uint64_t)(flags | O_CLOEXEC),
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	return sys_openat2(st->root_fd, path, &how);
}

/* Opens, in root, the directory holding path's last component and copies that component
 * to name. Returns the directory fd. */
static int open_parent(const struct run_state *st, const char *path, char name[NAME_MAX + 1])
{
	char dir[PATH_MAX];
	size_t len = strlen(path);

	while (len > 1 && path[len - 1] == '/')
		len--;
	if (len >= sizeof dir) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(dir, path, len);
	dir[len] = 0;
	char *slash = strrchr(dir, '/');
	const char *last = slash + 1;
	if (!*last || !strcmp(last, ".") || !strcmp(last, "..")) {
		errno = EINVAL;
		return -1;
	}
	if (strlen(last) > NAME_MAX) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(name, last);
	*slash = 0;
	return open_in_root(st, slash == dir ? "/" : dir, O_PATH | O_DIRECTORY);
}

static int replace_root(struct run_state *st, int fd)
{
	close(st->root_fd);
	st->root_fd = fd;
	return 0;
}

static int enter_new_root(struct run_state *st)
{
	if (chdir("/") < 0)
		return fail(st, errno, "chdir / in the new root");
	int fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return fail(st, errno, "open the new root");
	return replace_root(st, fd);
}

static uint8_t go_frame[FRAME_HEADER_SIZE + FRAME_MAX_PAYLOAD + 1];

static int op_wait_go(struct run_state *st, const struct op *op)
{
	int fd = (int)op->arg[0].u32;
	size_t size = 0;
	char err[DETAIL_MAX];

	/* One byte more than the largest frame is enough to know there is too much. */
	while (size < sizeof go_frame) {
		ssize_t n = read(fd, go_frame + size, sizeof go_frame - size);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return fail(st, errno, "read the go frame from fd %d", fd);
		if (n == 0)
			break;
		size += (size_t)n;
	}
	if (!context_decode(go_frame, size, &st->context, err, sizeof err)) {
		st->bad_go_frame = true;
		return fail(st, 0, "%s", err);
	}
	return 0;
}

static int op_setsid(struct run_state *st, const struct op *op)
{
	(void)op;
	if (setsid() < 0)
		return fail(st, errno, "setsid");
	return 0;
}

/* The place a mount goes: opened once in root, checked, and used as an fd from then on, so
 * nothing the container controls can move the mount elsewhere between the checks and the
 * attach. With real_dir the last component must be a directory, not a symlink (/proc,
 * /sys). Unless on_proc, the target must not lie on a procfs: an image's symlink must not
 * turn a mount meant for the image into one over /proc/sys or /proc/self/attr. */
static int open_mount_target(struct run_state *st, const char *target, bool real_dir, bool on_proc, const char *what)
{
	int fd = open_in_root(st, target, O_PATH | (real_dir ? O_NOFOLLOW : 0));
	if (fd < 0)
		return fail(st, errno, "%s on %s: open the target", what, target);
	if (real_dir) {
		struct stat sb;
		if (fstat(fd, &sb) < 0) {
			fail(st, errno, "%s on %s: stat the target", what, target);
			close(fd);
			return -1;
		}
		if (!S_ISDIR(sb.st_mode)) {
			fail(st, ENOTDIR, "%s on %s: the target is not a directory", what, target);
			close(fd);
			return -1;
		}
	}
	if (!on_proc) {
		struct statfs sfs;
		if (fstatfs(fd, &sfs) < 0) {
			fail(st, errno, "%s on %s: statfs the target", what, target);
			close(fd);
			return -1;
		}
		if (sfs.f_type == PROC_SUPER_MAGIC) {
			fail(st, EPERM, "%s on %s: the target is inside a procfs", what, target);
			close(fd);
			return -1;
		}
	}
	return fd;
}

/* The attributes and propagation of a detached mount, set before anyone can see it. */
static int set_mount_attrs(int tree, uint32_t set, uint32_t clear, bool attrs_recursive, uint32_t propagation,
			   bool propagation_recursive)
{
	if (set | clear) {
		struct mount_attr attr = { .attr_set = set, .attr_clr = clear };
		if (sys_mount_setattr(tree, "", AT_EMPTY_PATH | (attrs_recursive ? AT_RECURSIVE : 0), &attr) < 0)
			return -1;
	}
	if (propagation) {
		struct mount_attr attr = { .propagation = propagation };
		if (sys_mount_setattr(tree, "", AT_EMPTY_PATH | (propagation_recursive ? AT_RECURSIVE : 0), &attr) < 0)
			return -1;
	}
	return 0;
}

static int attach_mount(int tree, int target_fd)
{
	return sys_move_mount(tree, "", target_fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);
}

/* A bind mount, made as one detached clone: the source is cloned, the clone gets every
 * requested attribute and its propagation, and only then is it attached onto the target's
 * fd. No path is looked up twice and no mount is ever visible with other flags. */
static int op_bind(struct run_state *st, const struct op *op)
{
	const char *source = op->arg[0].str, *target = op->arg[1].str;
	uint32_t attr_set = op->arg[2].u32, attr_clr = op->arg[3].u32, propagation = op->arg[4].u32;
	unsigned int clone = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (op->flags & BIND_RECURSIVE ? AT_RECURSIVE : 0);

	AUTOCLOSE int target_fd = open_mount_target(st, target, op->flags & BIND_TARGET_REAL_DIR,
						    op->flags & BIND_TARGET_ON_PROC, "bind");
	if (target_fd < 0)
		return -1;
	AUTOCLOSE int tree = -1;
	if (op->flags & BIND_SOURCE_IN_ROOT) {
		AUTOCLOSE int source_fd = open_in_root(st, source, O_PATH);
		if (source_fd < 0)
			return fail(st, errno, "bind %s on %s: open the source in root", source, target);
		tree = sys_open_tree(source_fd, "", clone | AT_EMPTY_PATH);
	} else {
		/* A host path from the runtime's own config: resolved as the host resolves it. */
		tree = sys_open_tree(AT_FDCWD, source, clone);
	}
	if (tree < 0)
		return fail(st, errno, "bind %s on %s: clone the source", source, target);
	/* Only a whole procfs may cover /proc: a bind of /proc/<pid> or /proc/sys would hand the
	 * container a host process's files or the host's sysctls. */
	if (op->flags & BIND_SOURCE_PROC_ROOT) {
		struct statfs sfs;
		struct stat sb;
		if (fstatfs(tree, &sfs) < 0 || fstat(tree, &sb) < 0)
			return fail(st, errno, "bind %s on %s: stat the source", source, target);
		if (sfs.f_type != PROC_SUPER_MAGIC || sb.st_ino != PROC_ROOT_INO)
			return fail(st, EINVAL, "bind %s on %s: the source is not the root of a procfs", source, target);
	}
	if (set_mount_attrs(tree, attr_set, attr_clr, op->flags & BIND_ATTR_RECURSIVE, propagation,
			    op->flags & BIND_PROPAGATION_RECURSIVE) < 0)
		return fail(st, errno, "bind %s on %s: set attributes 0x%" PRIx32 " (clear 0x%" PRIx32 ") propagation 0x%" PRIx32,
			    source, target, attr_set, attr_clr, propagation);
	if (attach_mount(tree, target_fd) < 0)
		return fail(st, errno, "bind %s on %s", source, target);
	return 0;
}

/* The kernel explains a refused filesystem option in the context's log ("e tmpfs: Unknown
 * parameter 'x'"): read one message for the report. */
static const char *fs_log(int fs, char *buf, size_t size)
{
	ssize_t n = read(fs, buf, size - 1);
	if (n <= 0)
		return "";
	buf[n] = 0;
	if (buf[n - 1] == '\n')
		buf[n - 1] = 0;
	return n > 2 && buf[1] == ' ' ? buf + 2 : buf;
}

/* A fresh filesystem: configured option by option (so a refusal names the option), created,
 * given its skeleton of directories and symlinks, its attributes and propagation while still
 * detached, then attached onto the target's fd. */
static int op_fsmount(struct run_state *st, const struct op *op)
{
	const char *fstype = op->arg[0].str, *source = op->arg[1].str, *target = op->arg[3].str;
	const struct strlist *options = &op->arg[2].strlist, *dirs = &op->arg[6].strlist, *links = &op->arg[7].strlist;
	uint32_t attr_set = op->arg[4].u32, propagation = op->arg[5].u32;
	bool skeleton = dirs->count || links->count;
	char log[256];

	AUTOCLOSE int target_fd = open_mount_target(st, target, op->flags & FSMOUNT_TARGET_REAL_DIR,
						    op->flags & FSMOUNT_TARGET_ON_PROC, "mount");
	if (target_fd < 0)
		return -1;
	AUTOCLOSE int fs = sys_fsopen(fstype, FSOPEN_CLOEXEC);
	if (fs < 0)
		return fail(st, errno, "mount %s on %s: open a %s filesystem", fstype, target, fstype);
	if (*source && sys_fsconfig(fs, FSCONFIG_SET_STRING, "source", source, 0) < 0)
		return fail(st, errno, "mount %s on %s: source \"%s\" %s", fstype, target, source, fs_log(fs, log, sizeof log));
	for (uint32_t i = 0; i < options->count; i++) {
		char key[256];
		const char *option = options->items[i], *equals = strchr(option, '=');
		size_t key_len = equals ? (size_t)(equals - option) : strlen(option);
		if (key_len >= sizeof key)
			return fail(st, EINVAL, "mount %s on %s: option name \"%.40s...\" is too long", fstype, target, option);
		memcpy(key, option, key_len);
		key[key_len] = 0;
		int rc = equals ? sys_fsconfig(fs, FSCONFIG_SET_STRING, key, equals + 1, 0)
				: sys_fsconfig(fs, FSCONFIG_SET_FLAG, key, NULL, 0);
		if (rc < 0)
			return fail(st, errno, "mount %s on %s: option \"%s\" %s", fstype, target, option, fs_log(fs, log, sizeof log));
	}
	if (sys_fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		return fail(st, errno, "mount %s on %s: create the filesystem %s", fstype, target, fs_log(fs, log, sizeof log));
	/* A skeleton is written before the mount may become read-only. */
	AUTOCLOSE int mnt = sys_fsmount(fs, FSMOUNT_CLOEXEC, skeleton ? attr_set & ~(uint32_t)MOUNT_ATTR_RDONLY : attr_set);
	if (mnt < 0)
		return fail(st, errno, "mount %s on %s: attributes 0x%" PRIx32, fstype, target, attr_set);
	for (uint32_t i = 0; i < dirs->count; i++)
		if (mkdirat(mnt, dirs->items[i], 0755) < 0)
			return fail(st, errno, "mount %s on %s: mkdir %s in it", fstype, target, dirs->items[i]);
	for (uint32_t i = 0; i < links->count; i += 2)
		if (symlinkat(links->items[i + 1], mnt, links->items[i]) < 0)
			return fail(st, errno, "mount %s on %s: symlink %s -> %s in it", fstype, target, links->items[i],
				    links->items[i + 1]);
	if (set_mount_attrs(mnt, skeleton ? attr_set & MOUNT_ATTR_RDONLY : 0, 0, false, propagation, false) < 0)
		return fail(st, errno, "mount %s on %s: set read-only 0x%" PRIx32 " propagation 0x%" PRIx32, fstype, target,
			    attr_set & MOUNT_ATTR_RDONLY, propagation);
	if (attach_mount(mnt, target_fd) < 0)
		return fail(st, errno, "mount %s on %s", fstype, target);
	return 0;
}

static int op_mkdir(struct run_state *st, const struct op *op)
{
	const char *path = op->arg[0].str;
	mode_t mode = op->arg[1].u32;
	char prefix[PATH_MAX];

	if (strlen(path) >= sizeof prefix)
		return fail(st, ENAMETOOLONG, "mkdir %.200s", path);
	strcpy(prefix, path);
	/* Each prefix is resolved from the root again, so a symlink met on the way is
	 * followed inside the root; a missing component is created in its resolved parent. */
	AUTOCLOSE int dir = -1;
	int parent = st->root_fd;
	char *name = prefix;
	for (;;) {
		name += strspn(name, "/");
		if (!*name)
			return 0;
		char *end = name + strcspn(name, "/");
		char saved = *end;
		*end = 0;
		int next = open_in_root(st, prefix, O_PATH | O_DIRECTORY);
		if (next < 0 && errno == ENOENT) {
			if (mkdirat(parent, name, mode) < 0 && errno != EEXIST)
				return fail(st, errno, "mkdir %s", prefix);
			next = open_in_root(st, prefix, O_PATH | O_DIRECTORY);
		}
		if (next < 0)
			return fail(st, errno, "mkdir %s", prefix);
		close_fd(&dir);
		dir = parent = next;
		*end = saved;
		name = end;
	}
}

static int op_mknod(struct run_state *st, const struct op *op)
{
	const char *path = op->arg[0].str;
	mode_t mode = op->arg[1].u32;
	char name[NAME_MAX + 1];

	AUTOCLOSE int dir = open_parent(st, path, name);
	if (dir < 0)
		return fail(st, errno, "mknod %s: open the parent directory", path);
	if (mknodat(dir, name, mode, makedev(op->arg[2].u32, op->arg[3].u32)) < 0)
		return fail(st, errno, "mknod %s", path);
	/* NOFOLLOW: should the node be swapped for a symlink meanwhile, chmod fails rather
	 * than following it out of the root. */
	if (fchmodat(dir, name, mode & 07777, AT_SYMLINK_NOFOLLOW) < 0)
		return fail(st, errno, "chmod %s to 0%o", path, mode & 07777);
	return 0;
}

static int op_symlink(struct run_state *st, const struct op *op)
{
	const char *target = op->arg[0].str, *path = op->arg[1].str;
	char name[NAME_MAX + 1];

	AUTOCLOSE int dir = open_parent(st, path, name);
	if (dir < 0)
		return fail(st, errno, "symlink %s -> %s: open the parent directory", path, target);
	if (symlinkat(target, dir, name) < 0 && !(errno == EEXIST && op->flags & SYMLINK_IGNORE_EXISTING))
		return fail(st, errno, "symlink %s -> %s", path, target);
	return 0;
}

static int op_create_file(struct run_state *st, const struct op *op)
{
	const char *path = op->arg[0].str;
	char name[NAME_MAX + 1];

	AUTOCLOSE int dir = open_parent(st, path, name);
	if (dir < 0)
		return fail(st, errno, "create file %s: open the parent directory", path);
	/* mknodat creates without opening: nothing of the container's is ever opened here. */
	if (mknodat(dir, name, S_IFREG | op->arg[1].u32, 0) < 0 && errno != EEXIST)
		return fail(st, errno, "create file %s", path);
	return 0;
}

/* OPEN_ROOT: the directory every later in-root path resolves in. With BIND it becomes a
 * mount of its own (pivot_root needs one): a recursive clone of it, given its attributes
 * while detached (a read-only root is never writable), attached onto itself. */
static int op_open_root(struct run_state *st, const struct op *op)
{
	const char *path = op->arg[0].str;
	uint32_t attr_set = op->arg[1].u32;
	struct open_how how = {
		.flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | (op->flags & OPEN_ROOT_NO_SYMLINKS ? RESOLVE_NO_SYMLINKS : 0),
	};
	int fd = sys_openat2(st->root_fd, path, &how);
	if (fd < 0)
		return fail(st, errno == ELOOP && op->flags & OPEN_ROOT_NO_SYMLINKS ? ELOOP : errno, "open root %s%s", path,
			    errno == ELOOP && op->flags & OPEN_ROOT_NO_SYMLINKS ? ": a component is a symlink" : "");
	if (!(op->flags & OPEN_ROOT_BIND))
		return replace_root(st, fd);
	AUTOCLOSE int dir = fd;
	int tree = sys_open_tree(dir, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE | AT_EMPTY_PATH);
	if (tree < 0)
		return fail(st, errno, "open root %s: clone it", path);
	uint32_t clear = attr_set & MOUNT_ATTR__ATIME ? MOUNT_ATTR__ATIME : 0;
	if (set_mount_attrs(tree, attr_set, clear, true, 0, false) < 0 || attach_mount(tree, dir) < 0) {
		fail(st, errno, "open root %s: bind it onto itself with attributes 0x%" PRIx32, path, attr_set);
		close(tree);
		return -1;
	}
	return replace_root(st, tree);
}

static int op_pivot_root(struct run_state *st, const struct op *op)
{
	(void)op;
	if (fchdir(st->root_fd) < 0)
		return fail(st, errno, "pivot_root: chdir to the new root");
	if (sys_pivot_root(".", ".") < 0)
		return fail(st, errno, "pivot_root");
	/* The old root is now stacked on the new one at ".": keep its unmount from
	 * propagating to the host, then detach it. */
	if (mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0)
		return fail(st, errno, "pivot_root: make the old root a slave mount");
	if (umount2(".", MNT_DETACH) < 0)
		return fail(st, errno, "pivot_root: detach the old root");
	return enter_new_root(st);
}

static int op_move_root(struct run_state *st, const struct op *op)
{
	(void)op;
	if (fchdir(st->root_fd) < 0)
		return fail(st, errno, "move root: chdir to the new root");
	if (mount(".", "/", NULL, MS_MOVE, NULL) < 0)
		return fail(st, errno, "move root: move the new root onto /");
	if (chroot(".") < 0)
		return fail(st, errno, "move root: chroot");
	return enter_new_root(st);
}

static int op_setattr(struct run_state *st, const struct op *op)
{
	const char *path = op->arg[0].str;
	uint32_t attr_set = op->arg[1].u32, attr_clr = op->arg[2].u32, propagation = op->arg[3].u32;
	bool recursive = op->flags & SETATTR_RECURSIVE;

	AUTOCLOSE int fd = open_in_root(st, path, O_PATH);
	if (fd < 0 && errno == ENOENT && op->flags & SETATTR_IGNORE_MISSING)
		return 0;
	if (fd < 0)
		return fail(st, errno, "set mount attributes of %s: open it", path);
	if (!(op->flags & SETATTR_BIND_FIRST)) {
		if (set_mount_attrs(fd, attr_set, attr_clr, recursive, propagation, recursive) < 0)
			return fail(st, errno, "set mount attributes of %s to 0x%" PRIx32 " (clear 0x%" PRIx32 ") propagation 0x%" PRIx32,
				    path, attr_set, attr_clr, propagation);
		return 0;
	}
	/* Clone the tree, set the clone's attributes while it is still detached, then attach it
	 * onto the path: the path is never bound with the old attributes in between. */
	AUTOCLOSE int tree = sys_open_tree(fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE | AT_EMPTY_PATH);
	if (tree < 0)
		return fail(st, errno, "set mount attributes of %s: bind it onto itself", path);
	if (set_mount_attrs(tree, attr_set, attr_clr, recursive, propagation, recursive) < 0)
		return fail(st, errno, "set mount attributes of %s to 0x%" PRIx32 " (clear 0x%" PRIx32 ") propagation 0x%" PRIx32,
			    path, attr_set, attr_clr, propagation);
	if (attach_mount(tree, fd) < 0)
		return fail(st, errno, "set mount attributes of %s: bind it onto itself", path);
	return 0;
}

static int mask_with_tmpfs(struct run_state *st, const char *path, int target)
{
	AUTOCLOSE int fs = sys_fsopen("tmpfs", FSOPEN_CLOEXEC);
	if (fs < 0)
		return fail(st, errno, "mask %s: create a tmpfs", path);
	if (sys_fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		return fail(st, errno, "mask %s: create a tmpfs", path);
	AUTOCLOSE int mnt = sys_fsmount(fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_RDONLY);
	if (mnt < 0)
		return fail(st, errno, "mask %s: mount a tmpfs", path);
	if (attach_mount(mnt, target) < 0)
		return fail(st, errno, "mask %s with a tmpfs", path);
	return 0;
}

static int mask_with_null(struct run_state *st, const char *path, int target)
{
	struct stat sb;
	/* An image may ship /dev/null as a symlink or a regular file; binding that over a
	 * masked path would expose whatever it leads to. Only the real null device will do. */
	AUTOCLOSE int null = open_in_root(st, "/dev/null", O_PATH);
	if (null < 0)
		return fail(st, errno, "mask %s: open /dev/null", path);
	if (fstat(null, &sb) < 0)
		return fail(st, errno, "mask %s: stat /dev/null", path);
	if (!S_ISCHR(sb.st_mode) || sb.st_rdev != makedev(1, 3))
		return fail(st, EINVAL, "mask %s: /dev/null in the root is not the null device (char 1:3)", path);
	AUTOCLOSE int tree = sys_open_tree(null, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
	if (tree < 0)
		return fail(st, errno, "mask %s: bind /dev/null", path);
	if (attach_mount(tree, target) < 0)
		return fail(st, errno, "mask %s with /dev/null", path);
	return 0;
}

static int op_mask(struct run_state *st, const struct op *op)
{
	const char *path = op->arg[0].str;
	struct stat sb;

	AUTOCLOSE int fd = open_in_root(st, path, O_PATH);
	if (fd < 0 && errno == ENOENT)
		return 0;
	if (fd < 0)
		return fail(st, errno, "mask %s: open it", path);
	if (fstat(fd, &sb) < 0)
		return fail(st, errno, "mask %s: stat it", path);
	return S_ISDIR(sb.st_mode) ? mask_with_tmpfs(st, path, fd) : mask_with_null(st, path, fd);
}

static int op_sethostname(struct run_state *st, const struct op *op)
{
	const char *name = op->arg[0].str;
	if (sethostname(name, strlen(name)) < 0)
		return fail(st, errno, "sethostname \"%s\"", name);
	return 0;
}

static int op_setdomainname(struct run_state *st, const struct op *op)
{
	const char *name = op->arg[0].str;
	if (setdomainname(name, strlen(name)) < 0)
		return fail(st, errno, "setdomainname \"%s\"", name);
	return 0;
}

static int op_setrlimit(struct run_state *st, const struct op *op)
{
	uint32_t resource = op->arg[0].u32;
	/* RLIM_INFINITY is all ones, so the u64 values pass through unchanged. */
	struct rlimit limit = { .rlim_cur = op->arg[1].u64, .rlim_max = op->arg[2].u64 };
	if (prlimit(0, resource, &limit, NULL) < 0)
		return fail(st, errno, "setrlimit resource %" PRIu32 " to soft %" PRIu64 " hard %" PRIu64, resource,
			    op->arg[1].u64, op->arg[2].u64);
	return 0;
}

static int op_setgroups(struct run_state *st, const struct op *op)
{
	const struct u32list *gids = &op->arg[0].u32list;
	if (setgroups(gids->count, gids->items) < 0)
		return fail(st, errno, "setgroups (%" PRIu32 " groups)", gids->count);
	return 0;
}

static int op_setresgid(struct run_state *st, const struct op *op)
{
	gid_t gid = op->arg[0].u32;
	if (setresgid(gid, gid, gid) < 0)
		return fail(st, errno, "setresgid %u", gid);
	return 0;
}

static int op_setresuid(struct run_state *st, const struct op *op)
{
	uid_t uid = op->arg[0].u32;
	if (setresuid(uid, uid, uid) < 0)
		return fail(st, errno, "setresuid %u", uid);
	return 0;
}

static int op_keepcaps(struct run_state *st, const struct op *op)
{
	if (prctl(PR_SET_KEEPCAPS, op->arg[0].u32, 0, 0, 0) < 0)
		return fail(st, errno, "set keepcaps to %" PRIu32, op->arg[0].u32);
	return 0;
}

static int op_bounding_drop(struct run_state *st, const struct op *op)
{
	uint64_t mask = op->arg[0].u64;
	for (unsigned int cap = 0; cap < 64; cap++)
		if (mask >> cap & 1 && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0)
			return fail(st, errno, "drop capability %u from the bounding set", cap);
	return 0;
}

static int op_capset(struct run_state *st, const struct op *op)
{
	uint64_t effective = op->arg[0].u64, permitted = op->arg[1].u64, inheritable = op->arg[2].u64;
	struct __user_cap_header_struct header = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct data[2];

	for (int i = 0; i < 2; i++)
		data[i] = (struct __user_cap_data_struct){
			.effective = (uint32_t)(effective >> 32 * i),
			.permitted = (uint32_t)(permitted >> 32 * i),
			.inheritable = (uint32_t)(inheritable >> 32 * i),
		};
	if (sys_capset(&header, data) < 0)
		return fail(st, errno, "capset effective 0x%" PRIx64 " permitted 0x%" PRIx64 " inheritable 0x%" PRIx64,
			    effective, permitted, inheritable);
	return 0;
}

static int op_ambient(struct run_state *st, const struct op *op)
{
	uint64_t mask = op->arg[0].u64;
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
		return fail(st, errno, "clear the ambient capabilities");
	for (unsigned int cap = 0; cap < 64; cap++)
		if (mask >> cap & 1 && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0)
			return fail(st, errno, "raise ambient capability %u", cap);
	return 0;
}

static int op_no_new_privs(struct run_state *st, const struct op *op)
{
	(void)op;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return fail(st, errno, "set no_new_privs");
	return 0;
}

static int op_chdir(struct run_state *st, const struct op *op)
{
	const char *path = op->arg[0].str;
	char cwd[PATH_MAX];

	if (chdir(path) < 0)
		return fail(st, errno, "chdir %s", path);
	/* The raw syscall (unlike glibc's getcwd) shows a directory outside the root as
	 * "(unreachable)/...": a leaked host directory must never become the cwd. */
	if (syscall(SYS_getcwd, cwd, sizeof cwd) < 0)
		return fail(st, errno, "chdir %s: getcwd", path);
	if (cwd[0] != '/')
		return fail(st, ENOENT, "chdir %s: the directory is outside the container's root", path);
	return 0;
}

static int op_umask(struct run_state *st, const struct op *op)
{
	(void)st;
	umask(op->arg[0].u32);
	return 0;
}

/* The kernel's sigset: one bit per signal 1..NSIG-1. */
#define KERNEL_SIGSET_SIZE ((NSIG - 1) / 8)

static int op_reset_signals(struct run_state *st, const struct op *op)
{
	/* All zeroes is SIG_DFL, no flags and an empty mask in every architecture's kernel
	 * sigaction, whatever its layout; the buffer is larger than any of them. The raw call
	 * also reaches the signals glibc reserves for itself. */
	static const unsigned long default_action[8];
	static const uint8_t empty_set[KERNEL_SIGSET_SIZE];
	(void)op;

	for (int sig = 1; sig < NSIG; sig++) {
		if (sig == SIGKILL || sig == SIGSTOP)
			continue;
		if (syscall(SYS_rt_sigaction, sig, default_action, NULL, KERNEL_SIGSET_SIZE) < 0)
			return fail(st, errno, "reset the action of signal %d", sig);
	}
	if (syscall(SYS_rt_sigprocmask, SIG_SETMASK, empty_set, NULL, KERNEL_SIGSET_SIZE) < 0)
		return fail(st, errno, "unblock all signals");
	return 0;
}

static const char *find_path(char *const *env)
{
	for (; *env; env++)
		if (!strncmp(*env, "PATH=", 5))
			return *env + 5;
	return NULL;
}

/* What a command search does with each candidate: EXEC execve's it (and returns only on
 * failure), CHECK_EXEC checks it. 0 ends the search; -1 with errno moves on or stops it as
 * execvp would. */
typedef int try_command(const char *path, char *const *args, char *const *env);

static int try_execve(const char *path, char *const *args, char *const *env)
{
	execve(path, args, env);
	return -1;
}

/* What execve would say about the file's kind and permission, without running it: a regular
 * file the effective ids may execute (a directory or device is EACCES, as for execve). */
static int try_executable(const char *path, char *const *args, char *const *env)
{
	struct stat sb;
	(void)args;
	(void)env;
	if (stat(path, &sb) < 0)
		return -1;
	if (!S_ISREG(sb.st_mode)) {
		errno = EACCES;
		return -1;
	}
	return faccessat(AT_FDCWD, path, X_OK, AT_EACCESS);
}

/* args[0] resolved as EXEC documents it (execvp's rules, the PATH of `env`), each candidate
 * handed to `try`. Returns 0 once `try` succeeds, else fails with execvp's errno. */
static int search_command(struct run_state *st, const struct op *op, try_command *try)
{
	char *const *args = op->arg[0].strlist.items, *const *env = op->arg[1].strlist.items;
	const char *file = args[0];

	if (!*file)
		return fail(st, ENOENT, "exec \"\": the command is empty");
	if (strchr(file, '/')) {
		if (try(file, args, env) == 0)
			return 0;
		return fail(st, errno, "exec \"%s\"", file);
	}
	const char *search = find_path(env);
	if (!search)
		return fail(st, ENOENT, "exec \"%s\": no PATH in the environment", file);
	/* As execvp: an empty entry is the cwd; EACCES is remembered in case nothing else is
	 * found, ENOENT and ENOTDIR move on, any other error stops the search. */
	bool denied = false;
	for (const char *dir = search;; dir++) {
		size_t dir_len = strcspn(dir, ":");
		char candidate[PATH_MAX];
		int n = snprintf(candidate, sizeof candidate, "%.*s%s%s", (int)dir_len, dir, dir_len ? "/" : "", file);
		if (n > 0 && (size_t)n < sizeof candidate) {
			if (try(candidate, args, env) == 0)
				return 0;
			if (errno == EACCES)
				denied = true;
			else if (errno != ENOENT && errno != ENOTDIR)
				return fail(st, errno, "exec \"%s\"", candidate);
		}
		dir += dir_len;
		if (!*dir)
			break;
	}
	if (denied)
		return fail(st, EACCES, "exec \"%s\": permission denied in PATH", file);
	return fail(st, ENOENT, "exec \"%s\": not found in PATH", file);
}

static int op_exec(struct run_state *st, const struct op *op)
{
	return search_command(st, op, try_execve);
}

/* The command EXEC would run exists and may be executed: a create fails on a missing command
 * before it waits for the start, as runc's does. */
static int op_check_exec(struct run_state *st, const struct op *op)
{
	return search_command(st, op, try_executable);
}

static int op_dumpable(struct run_state *st, const struct op *op)
{
	if (prctl(PR_SET_DUMPABLE, op->arg[0].u32, 0, 0, 0) < 0)
		return fail(st, errno, "set dumpable to %" PRIu32, op->arg[0].u32);
	return 0;
}

static int op_pdeathsig(struct run_state *st, const struct op *op)
{
	uint32_t sig = op->arg[0].u32;
	if (prctl(PR_SET_PDEATHSIG, sig, 0, 0, 0) < 0)
		return fail(st, errno, "set the parent-death signal to %" PRIu32, sig);
	/* Reparented to init before the signal was armed: the parent has already gone. */
	if (op->flags & PDEATHSIG_CHECK_PARENT && getppid() == 1)
		return fail(st, ESRCH, "the parent exited before the parent-death signal was set");
	return 0;
}

static int op_cloexec_from(struct run_state *st, const struct op *op)
{
	uint32_t fd = op->arg[0].u32;
	if (sys_close_range(fd, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
		return fail(st, errno, "mark fds from %" PRIu32 " close-on-exec", fd);
	return 0;
}

/* The helper's own fds are off limits to DUP2 and CLOSE: the report channel must stay
 * private until exec closes it, and the root fd (whose number the program cannot know)
 * moves out of the way when a DUP2 targets its number. */
static int op_dup2(struct run_state *st, const struct op *op)
{
	int from = (int)op->arg[0].u32, to = (int)op->arg[1].u32;

	if (from == st->report_fd || to == st->report_fd)
		return fail(st, EBUSY, "dup2 %d to %d: fd %d is the report channel", from, to, st->report_fd);
	if (from == st->root_fd)
		return fail(st, EBADF, "dup2 %d to %d: fd %d is the helper's root", from, to, from);
	if (to == st->root_fd) {
		int moved = fcntl(st->root_fd, F_DUPFD_CLOEXEC, 0);
		if (moved < 0)
			return fail(st, errno, "dup2 %d to %d: move the helper's root fd away", from, to);
		replace_root(st, moved);
	}
	if (from == to) {
		int flags = fcntl(from, F_GETFD);
		if (flags < 0 || fcntl(from, F_SETFD, flags & ~FD_CLOEXEC) < 0)
			return fail(st, errno, "clear close-on-exec on fd %d", from);
		return 0;
	}
	if (dup3(from, to, 0) < 0)
		return fail(st, errno, "dup2 %d to %d", from, to);
	return 0;
}

static int op_write_file(struct run_state *st, const struct op *op)
{
	const char *path = op->arg[0].str, *data = op->arg[1].str;
	size_t len = strlen(data);

	AUTOCLOSE int fd = open_in_root(st, path, O_WRONLY | O_TRUNC | O_NOCTTY);
	if (fd < 0)
		return fail(st, errno, "write %s: open it", path);
	ssize_t n = write(fd, data, len);
	if (n < 0)
		return fail(st, errno, "write %s", path);
	if ((size_t)n != len)
		return fail(st, EIO, "write %s: only %zd of %zu bytes written", path, n, len);
	return 0;
}

static int op_close(struct run_state *st, const struct op *op)
{
	int fd = (int)op->arg[0].u32;

	if (fd == st->report_fd)
		return fail(st, EBUSY, "close %d: it is the report channel", fd);
	if (fd == st->root_fd)
		return fail(st, EBADF, "close %d: it is the helper's root", fd);
	if (close(fd) < 0)
		return fail(st, errno, "close %d", fd);
	return 0;
}

static int op_unshare(struct run_state *st, const struct op *op)
{
	if (unshare((int)op->arg[0].u64) < 0)
		return fail(st, errno, "unshare 0x%" PRIx64, op->arg[0].u64);
	return 0;
}

static int op_chown(struct run_state *st, const struct op *op)
{
	const char *path = op->arg[0].str;
	char name[NAME_MAX + 1];

	AUTOCLOSE int dir = open_parent(st, path, name);
	if (dir < 0)
		return fail(st, errno, "chown %s: open the parent directory", path);
	if (fchownat(dir, name, op->arg[1].u32, op->arg[2].u32, AT_SYMLINK_NOFOLLOW) < 0)
		return fail(st, errno, "chown %s to %" PRIu32 ":%" PRIu32, path, op->arg[1].u32, op->arg[2].u32);
	return 0;
}

static int op_set_ctty(struct run_state *st, const struct op *op)
{
	int fd = (int)op->arg[0].u32;
	if (ioctl(fd, TIOCSCTTY, 0) < 0)
		return fail(st, errno, "make fd %d the controlling terminal", fd);
	return 0;
}

/* Bind the file behind an fd the parent passed (the console's pts) onto a target in
 * root. The target must already be a regular file or a device: a symlink planted in the
 * image is refused, never followed. */
static int op_bind_fd(struct run_state *st, const struct op *op)
{
	int fd = (int)op->arg[0].u32;
	const char *target = op->arg[1].str;

	AUTOCLOSE int target_fd = -1;
	if (op->flags & BIND_FD_DIRECTORY) {
		/* A whole filesystem the parent made (a console's devpts): onto a real directory, never
		 * a symlink, never on a procfs. */
		target_fd = open_mount_target(st, target, true, false, "bind fd");
		if (target_fd < 0)
			return -1;
	} else {
		target_fd = open_in_root(st, target, O_PATH | O_NOFOLLOW);
		if (target_fd < 0)
			return fail(st, errno, "bind fd %d on %s: open the target", fd, target);
		struct stat sb;
		if (fstat(target_fd, &sb) < 0)
			return fail(st, errno, "bind fd %d on %s: stat the target", fd, target);
		if (S_ISLNK(sb.st_mode) || S_ISDIR(sb.st_mode))
			return fail(st, S_ISLNK(sb.st_mode) ? ELOOP : EISDIR, "bind fd %d on %s: the target is a %s", fd,
				    target, S_ISLNK(sb.st_mode) ? "symlink" : "directory");
	}
	/* A file of this mount namespace is cloned; the kernel refuses (EINVAL) to clone one of
	 * another, so the parent passes a detached mount of it (open_tree, or fsmount), which is
	 * attached as it is. */
	AUTOCLOSE int tree = sys_open_tree(fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
	if (tree < 0 && errno != EINVAL)
		return fail(st, errno, "bind fd %d on %s: clone a mount of it", fd, target);
	if (sys_move_mount(tree >= 0 ? tree : fd, "", target_fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		return fail(st, errno, "bind fd %d on %s", fd, target);
	return 0;
}

static int op_setns(struct run_state *st, const struct op *op)
{
	int fd = (int)op->arg[0].u32;
	uint32_t nstype = op->arg[1].u32;
	/* A pidfd enters all of nstype at once (Linux 5.8), or none of it: the kernel commits the
	 * set only when every namespace could be joined. Joining a pid namespace only moves the
	 * children: see CLONE_PARENT. */
	if (setns(fd, (int)nstype) < 0)
		return fail(st, errno, "setns %s %d (0x%" PRIx32 ")", op->flags & SETNS_PIDFD ? "pidfd" : "fd", fd, nstype);
	/* A new mount namespace moved "/" (setns sets root and cwd to its root): the root fd still
	 * names the old one — the host's, for an exec into a container — and every path "in root"
	 * from here on must resolve in the new one. */
	if (nstype & CLONE_NEWNS) {
		int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (root < 0)
			return fail(st, errno, "open the new root / after setns");
		return replace_root(st, root);
	}
	return 0;
}

/* CLONE_PARENT: the rest of the program runs in a new process that is a child of the helper's
 * parent, in the pid namespace a SETNS joined (setns only moves the children there). The
 * helper itself is the intermediate: it reports the new pid and exits.
 *
 * The gate pipe orders the frames: the child goes on (and may report an error) only after
 * the intermediate has written the PID frame, so the parent always has the pid of the process
 * that reports. Without the byte (the frame could not be written) the child exits silently. */
static int op_clone_parent(struct run_state *st, const struct op *op)
{
	int gate[2];
	(void)op;

	if (pipe2(gate, O_CLOEXEC) < 0)
		return fail(st, errno, "clone into the parent: create the gate pipe");
	/* Fork semantics: no CLONE_VM, the child runs on a copy of this stack. With CLONE_PARENT the
	 * kernel gives the child the helper's own exit signal (SIGCHLD, as the helper was
	 * spawned) and refuses (EINVAL) when the helper is a pid namespace's init. A raw clone
	 * leaves glibc's cached thread id stale in the child; nothing here uses it (no raise, no
	 * pthread call). */
	long pid = syscall(SYS_clone, CLONE_PARENT | SIGCHLD, 0, NULL, NULL, 0);
	if (pid < 0) {
		int error = errno;
		close(gate[0]);
		close(gate[1]);
		return fail(st, error, "clone into the parent");
	}
	if (pid > 0) {
		close(gate[0]);
		if (report_pid(st->report_fd, (uint32_t)pid) < 0) {
			int error = errno;
			close(gate[1]);
			return fail(st, error, "clone into the parent: write the PID frame of pid %ld", pid);
		}
		/* A child killed meanwhile makes this write fail; SIGPIPE must not turn the
		 * intermediate's exit into a signal death, whatever RESET_SIGNALS did before. */
		sigset_t pipe_signal;
		sigemptyset(&pipe_signal);
		sigaddset(&pipe_signal, SIGPIPE);
		sigprocmask(SIG_BLOCK, &pipe_signal, NULL);
		const uint8_t go = 1;
		ssize_t n;
		do {
			n = write(gate[1], &go, 1);
		} while (n < 0 && errno == EINTR);
		close(gate[1]);
		_exit(0);
	}
	close(gate[1]);
	uint8_t byte;
	ssize_t n;
	do {
		n = read(gate[0], &byte, 1);
	} while (n < 0 && errno == EINTR);
	close(gate[0]);
	/* The parent never learnt this pid: nobody would wait for it, so it says nothing. */
	if (n != 1)
		_exit(1);
	return 0;
}

/* AWAIT_START: tell the parent the child is ready (READY), then wait for the start: one byte
 * on fd, the read end of a FIFO another process opens to write. A FIFO that no writer has
 * opened yet is not hung up (the kernel counts writers that came), so poll blocks until the
 * start comes; a writer that leaves without writing hangs it up: the start was abandoned. */
static int op_await_start(struct run_state *st, const struct op *op)
{
	int fd = (int)op->arg[0].u32;
	uint8_t byte;

	if (fd == st->report_fd)
		return fail(st, EBUSY, "await start on fd %d: it is the report channel", fd);
	if (fd == st->root_fd)
		return fail(st, EBADF, "await start on fd %d: it is the helper's root", fd);
	if (report_ready(st->report_fd) < 0)
		return fail(st, errno, "await start on fd %d: write the READY frame", fd);
	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int ready = poll(&pfd, 1, -1);
		if (ready < 0 && errno == EINTR)
			continue;
		if (ready < 0)
			return fail(st, errno, "await start on fd %d: poll", fd);
		if (pfd.revents & POLLNVAL)
			return fail(st, EBADF, "await start on fd %d: poll", fd);
		/* Only after poll: a read of a FIFO without writers is EOF even before any came. */
		ssize_t n = read(fd, &byte, 1);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0)
			return fail(st, errno, "await start on fd %d: read", fd);
		if (n == 0)
			return fail(st, ECANCELED, "the start was abandoned");
		break;
	}
	close(fd);
	return 0;
}

/* <linux/keyctl.h>, which the build host may lack. */
#define KEYCTL_JOIN_SESSION_KEYRING 1
#define KEYCTL_SETPERM 5
#define KEYCTL_DESCRIBE 6
/* The user's search permission (KEY_USR_SEARCH), added as runc does so that the container's
 * processes, which do not possess the keyring, can still search it. */
#define KEY_USR_SEARCH 0x00080000u

/* JOIN_SESSION_KEYRING: a session keyring of the container's own (joined by name, created when
 * there is none), so it never shares the caller's. A kernel without keys (ENOSYS) has nothing
 * to share: not an error. */
static int op_join_session_keyring(struct run_state *st, const struct op *op)
{
	const char *name = op->arg[0].str;
	/* An empty name asks for a new anonymous keyring (the kernel names it "_ses"). */
	char label[DETAIL_MAX]; /* the detail is cut there anyway */
	snprintf(label, sizeof label, *name ? "session keyring \"%s\"" : "a new anonymous session keyring", name);
	/* KEYCTL_DESCRIBE: "type;uid;gid;perm;description", the description at most 4095 bytes. */
	char description[4096 + 128];

	long key = syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, *name ? name : NULL);
	if (key < 0 && errno == ENOSYS)
		return 0;
	if (key < 0)
		return fail(st, errno, "join %s", label);
	long len = syscall(SYS_keyctl, KEYCTL_DESCRIBE, key, description, sizeof description - 1);
	if (len < 0)
		return fail(st, errno, "join %s: describe it", label);
	description[(size_t)len < sizeof description ? (size_t)len : sizeof description - 1] = 0;
	const char *field = description;
	for (int i = 0; i < 3 && field; i++) {
		field = strchr(field, ';');
		if (field)
			field++;
	}
	char *end = NULL;
	unsigned long perm = field ? strtoul(field, &end, 16) : 0;
	if (!field || end == field || *end != ';' || perm > UINT32_MAX)
		return fail(st, EINVAL, "join %s: no permissions in its description \"%.200s\"", label, description);
	if (syscall(SYS_keyctl, KEYCTL_SETPERM, key, (uint32_t)perm | KEY_USR_SEARCH) < 0)
		return fail(st, errno, "join %s: set its permissions to 0x%08lx", label, perm | KEY_USR_SEARCH);
	return 0;
}

static op_handler *const handlers[] = {
	[OP_WAIT_GO] = op_wait_go,
	[OP_SETSID] = op_setsid,
	[OP_BIND] = op_bind,
	[OP_MKDIR] = op_mkdir,
	[OP_MKNOD] = op_mknod,
	[OP_SYMLINK] = op_symlink,
	[OP_CREATE_FILE] = op_create_file,
	[OP_OPEN_ROOT] = op_open_root,
	[OP_PIVOT_ROOT] = op_pivot_root,
	[OP_MOVE_ROOT] = op_move_root,
	[OP_SETATTR] = op_setattr,
	[OP_MASK] = op_mask,
	[OP_SETHOSTNAME] = op_sethostname,
	[OP_SETDOMAINNAME] = op_setdomainname,
	[OP_SETRLIMIT] = op_setrlimit,
	[OP_SETGROUPS] = op_setgroups,
	[OP_SETRESGID] = op_setresgid,
	[OP_SETRESUID] = op_setresuid,
	[OP_KEEPCAPS] = op_keepcaps,
	[OP_BOUNDING_DROP] = op_bounding_drop,
	[OP_CAPSET] = op_capset,
	[OP_AMBIENT] = op_ambient,
	[OP_NO_NEW_PRIVS] = op_no_new_privs,
	[OP_CHDIR] = op_chdir,
	[OP_UMASK] = op_umask,
	[OP_RESET_SIGNALS] = op_reset_signals,
	[OP_EXEC] = op_exec,
	[OP_DUMPABLE] = op_dumpable,
	[OP_PDEATHSIG] = op_pdeathsig,
	[OP_CLOEXEC_FROM] = op_cloexec_from,
	[OP_DUP2] = op_dup2,
	[OP_WRITE_FILE] = op_write_file,
	[OP_CLOSE] = op_close,
	[OP_UNSHARE] = op_unshare,
	[OP_CHOWN] = op_chown,
	[OP_SET_CTTY] = op_set_ctty,
	[OP_BIND_FD] = op_bind_fd,
	[OP_SETNS] = op_setns,
	[OP_FSMOUNT] = op_fsmount,
	[OP_CLONE_PARENT] = op_clone_parent,
	[OP_AWAIT_START] = op_await_start,
	[OP_CHECK_EXEC] = op_check_exec,
	[OP_JOIN_SESSION_KEYRING] = op_join_session_keyring,
};

int program_run(const struct program *program, int report_fd)
{
	static struct run_state st;

	st.report_fd = report_fd;
	st.root_fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (st.root_fd < 0) {
		report_error(report_fd, OP_INDEX_NONE, 0, errno, "open the helper's root /");
		return 1;
	}
	for (uint32_t i = 0; i < program->count; i++) {
		const struct op *op = &program->ops[i];
		if (handlers[op->code](&st, op) < 0) {
			report_error(report_fd, st.bad_go_frame ? OP_INDEX_NONE : i, op->code, st.error, st.detail);
			return 1;
		}
	}
	/* The decoder only accepts programs that end with EXEC, which returns only by failing. */
	report_error(report_fd, OP_INDEX_NONE, 0, 0, "the program ended without EXEC");
	return 1;
}
