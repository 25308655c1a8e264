/* nsinit-init: the static helper that runs an init program inside the container's
 * namespaces and execs the user's command. Usage and wire format: ../PROGRAM.md. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ops.h"
#include "program.h"
#include "report.h"

/* A plain non-negative decimal that fits an int: no sign, no spaces, no leading zeros. */
static bool parse_fd(const char *s, int *fd)
{
	long value = 0;

	if (!*s || (s[0] == '0' && s[1]))
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return false;
		value = value * 10 + (*s - '0');
		if (value > INT_MAX)
			return false;
	}
	*fd = (int)value;
	return true;
}

/* Reads the whole program into a fresh buffer and closes fd, on every path. */
static int read_program(int fd, uint8_t **buf, size_t *size, char *err, size_t err_size)
{
	struct stat sb;
	size_t done = 0;
	int error = 0;

	if (fstat(fd, &sb) < 0) {
		error = errno;
		snprintf(err, err_size, "program fd %d: fstat", fd);
	} else if (!S_ISREG(sb.st_mode)) {
		error = EINVAL;
		snprintf(err, err_size, "program fd %d: not a regular file (a sealed memfd is expected)", fd);
	} else if (sb.st_size > PROGRAM_MAX_SIZE) {
		error = EFBIG;
		snprintf(err, err_size, "program fd %d: %lld bytes exceed the limit of %u", fd,
			 (long long)sb.st_size, PROGRAM_MAX_SIZE);
	} else if (!(*buf = malloc(sb.st_size ? (size_t)sb.st_size : 1))) {
		error = ENOMEM;
		snprintf(err, err_size, "program fd %d: no memory for %lld bytes", fd, (long long)sb.st_size);
	}
	*size = error ? 0 : (size_t)sb.st_size;
	while (!error && done < *size) {
		ssize_t n = pread(fd, *buf + done, *size - done, (off_t)done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			error = n < 0 ? errno : EIO;
			snprintf(err, err_size, "program fd %d: read %zu of %zu bytes", fd, done, *size);
		} else {
			done += (size_t)n;
		}
	}
	close(fd);
	errno = error;
	return error ? -1 : 0;
}

int main(int argc, char **argv)
{
	int program_fd, report_fd;
	uint8_t *buf = NULL;
	size_t size;
	struct program program;
	char err[DETAIL_MAX];

	if (argc != 3 || !parse_fd(argv[1], &program_fd) || !parse_fd(argv[2], &report_fd) ||
	    program_fd == report_fd) {
		fprintf(stderr, "usage: nsinit-init <program-fd> <report-fd> (two different fd numbers)\n");
		return 2;
	}
	/* So that a successful exec always closes the channel, however the helper was spawned. */
	if (fcntl(report_fd, F_SETFD, FD_CLOEXEC) < 0) {
		fprintf(stderr, "nsinit-init: report fd %d: %s\n", report_fd, strerror(errno));
		return 2;
	}
	if (read_program(program_fd, &buf, &size, err, sizeof err) < 0) {
		report_error(report_fd, OP_INDEX_NONE, 0, errno, err);
		return 1;
	}
	if (!program_decode(buf, size, &program, err, sizeof err)) {
		report_error(report_fd, OP_INDEX_NONE, 0, 0, err);
		return 1;
	}
	return program_run(&program, report_fd);
}
