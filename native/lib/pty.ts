/** The typed surface of src/pty.cc: pty pairs, window sizes, termios (issue 4). */
// biome-ignore lint/suspicious/noEmptyInterface: filled in with the feature
export interface PtyBinding {}
