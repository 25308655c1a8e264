/* Raw system calls that glibc (2.36, Debian 12) wraps late or not at all; calling them
 * directly keeps the helper independent of the build host's glibc version. */
#ifndef NSINIT_SYS_H
#define NSINIT_SYS_H

#include <linux/capability.h>
#include <linux/openat2.h>
#include <sys/mount.h> /* struct mount_attr and the fd-based mount API constants */
#include <sys/syscall.h>
#include <unistd.h>

static inline int sys_openat2(int dirfd, const char *path, const struct open_how *how)
{
	return (int)syscall(SYS_openat2, dirfd, path, how, sizeof *how);
}

static inline int sys_pivot_root(const char *new_root, const char *put_old)
{
	return (int)syscall(SYS_pivot_root, new_root, put_old);
}

static inline int sys_open_tree(int dirfd, const char *path, unsigned int flags)
{
	return (int)syscall(SYS_open_tree, dirfd, path, flags);
}

static inline int sys_move_mount(int from_dirfd, const char *from_path, int to_dirfd, const char *to_path,
				 unsigned int flags)
{
	return (int)syscall(SYS_move_mount, from_dirfd, from_path, to_dirfd, to_path, flags);
}

static inline int sys_mount_setattr(int dirfd, const char *path, unsigned int flags, const struct mount_attr *attr)
{
	return (int)syscall(SYS_mount_setattr, dirfd, path, flags, attr, sizeof *attr);
}

static inline int sys_fsopen(const char *fs_name, unsigned int flags)
{
	return (int)syscall(SYS_fsopen, fs_name, flags);
}

static inline int sys_fsconfig(int fs_fd, unsigned int cmd, const char *key, const void *value, int aux)
{
	return (int)syscall(SYS_fsconfig, fs_fd, cmd, key, value, aux);
}

static inline int sys_fsmount(int fs_fd, unsigned int flags, unsigned int attr_flags)
{
	return (int)syscall(SYS_fsmount, fs_fd, flags, attr_flags);
}

static inline int sys_close_range(unsigned int first, unsigned int last, unsigned int flags)
{
	return (int)syscall(SYS_close_range, first, last, flags);
}

static inline int sys_capset(struct __user_cap_header_struct *header, const struct __user_cap_data_struct *data)
{
	return (int)syscall(SYS_capset, header, data);
}

#endif
