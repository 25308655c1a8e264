/** The typed surface of src/netlink.cc: NETLINK_ROUTE sockets, optionally in a network namespace (issue 6). */
// biome-ignore lint/suspicious/noEmptyInterface: filled in with the feature
export interface NetlinkBinding {}
