/**
 * The typed surface of src/bpf.cc: eBPF cgroup device programs (issue 5). cgroup v2 has
 * no devices files; a BPF_PROG_TYPE_CGROUP_DEVICE program attached to the cgroup decides
 * every device access instead. Which program to run is policy, built by @nsinit/cgroups.
 */
import { native } from './index.js';

export interface BpfBinding {
  /**
   * bpf(BPF_PROG_LOAD) of a cgroup device program. `instructions` are 8-byte eBPF
   * instructions in the host's byte order. Returns the program fd (CLOEXEC), owned by
   * the caller. A program the verifier refuses fails with EACCES or EINVAL and the
   * verifier's log in the message.
   */
  loadCgroupDeviceProgram(options: { instructions: Uint8Array; license: string }): number;
  /**
   * bpf(BPF_PROG_ATTACH) as the cgroup's device program, with BPF_F_ALLOW_MULTI: every
   * program attached to the cgroup and to its ancestors runs, and all must allow.
   * `cgroupFd` is an open cgroup v2 directory (O_RDONLY | O_DIRECTORY). The cgroup holds
   * its own reference to the program: the caller may close `programFd` afterwards.
   */
  attachCgroupDeviceProgram(options: { cgroupFd: number; programFd: number }): void;
  /** bpf(BPF_PROG_DETACH) of one device program from the cgroup. */
  detachCgroupDeviceProgram(options: { cgroupFd: number; programFd: number }): void;
  /** bpf(BPF_PROG_QUERY): the ids of the device programs attached to this cgroup itself. */
  queryCgroupDevicePrograms(options: { cgroupFd: number }): number[];
  /** bpf(BPF_PROG_GET_FD_BY_ID): an fd (CLOEXEC) of a loaded program, owned by the caller. */
  openBpfProgramById(options: { id: number }): number;
}

export const loadCgroupDeviceProgram: BpfBinding['loadCgroupDeviceProgram'] = (options) =>
  native().loadCgroupDeviceProgram(options);
export const attachCgroupDeviceProgram: BpfBinding['attachCgroupDeviceProgram'] = (options) =>
  native().attachCgroupDeviceProgram(options);
export const detachCgroupDeviceProgram: BpfBinding['detachCgroupDeviceProgram'] = (options) =>
  native().detachCgroupDeviceProgram(options);
export const queryCgroupDevicePrograms: BpfBinding['queryCgroupDevicePrograms'] = (options) =>
  native().queryCgroupDevicePrograms(options);
export const openBpfProgramById: BpfBinding['openBpfProgramById'] = (options) =>
  native().openBpfProgramById(options);
