/* Running a decoded init program (../PROGRAM.md, "Operations"). */
#ifndef NSINIT_OPS_H
#define NSINIT_OPS_H

#include "program.h"

/* Runs the ops in order. A successful EXEC never returns; otherwise the first failure is
 * reported on report_fd as an ERROR frame and the exit status (1) is returned. */
int program_run(const struct program *program, int report_fd);

#endif
