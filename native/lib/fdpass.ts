/** The typed surface of src/fdpass.cc: fds over Unix sockets, SCM_RIGHTS (issue 4). */
// biome-ignore lint/suspicious/noEmptyInterface: filled in with the feature
export interface FdPassingBinding {}
