/** The typed surface of src/bpf.cc: eBPF cgroup device programs (issue 5). */
// biome-ignore lint/suspicious/noEmptyInterface: filled in with the feature
export interface BpfBinding {}
