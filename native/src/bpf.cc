// eBPF cgroup device programs (issue 5): cgroup v2 has no devices files, so a
// BPF_PROG_TYPE_CGROUP_DEVICE program attached to the cgroup decides each access.
// The program is built in TypeScript (policy); this file only loads, attaches,
// detaches and lists programs. Every program fd is returned to the caller or closed.
#include "addon.h"

#include <errno.h>
#include <linux/bpf.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <string>
#include <vector>

namespace nsinit {

namespace {

long Bpf(int command, union bpf_attr* attr) {
  return syscall(__NR_bpf, command, attr, sizeof(*attr));
}

// bpf(BPF_PROG_LOAD) of a cgroup device program: 8-byte eBPF instructions in the
// host's byte order. A verifier rejection carries the verifier's log in the message.
Napi::Value LoadCgroupDeviceProgram(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "loadCgroupDeviceProgram";
  Napi::Object options = OptionsArg(info, fn);
  Napi::Value instructions_value = options.Get("instructions");
  if (!instructions_value.IsTypedArray() || instructions_value.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    throw TypeError(env, std::string(fn) + ": options.instructions must be a Uint8Array");
  }
  Napi::Uint8Array instructions = instructions_value.As<Napi::Uint8Array>();
  size_t length = instructions.ByteLength();
  if (length == 0 || length % sizeof(struct bpf_insn) != 0) {
    throw TypeError(env, std::string(fn) + ": options.instructions must hold whole 8-byte instructions, at least one");
  }
  Napi::Value license_value = options.Get("license");
  if (!license_value.IsString()) throw TypeError(env, std::string(fn) + ": options.license must be a string");
  std::string license = license_value.As<Napi::String>().Utf8Value();
  if (license.find('\0') != std::string::npos) throw TypeError(env, std::string(fn) + ": options.license contains a NUL byte");

  // Copied so the kernel reads aligned instructions whatever the view's offset.
  std::vector<struct bpf_insn> program(length / sizeof(struct bpf_insn));
  memcpy(program.data(), instructions.Data(), length);

  std::vector<char> log(64 * 1024);
  union bpf_attr attr;
  memset(&attr, 0, sizeof(attr));
  attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
  attr.insns = reinterpret_cast<uint64_t>(program.data());
  attr.insn_cnt = static_cast<uint32_t>(program.size());
  attr.license = reinterpret_cast<uint64_t>(license.c_str());
  long fd = Bpf(BPF_PROG_LOAD, &attr);
  if (fd < 0 && (errno == EACCES || errno == EINVAL)) {
    // The verifier refused it: load again with a log to say why.
    attr.log_buf = reinterpret_cast<uint64_t>(log.data());
    attr.log_size = static_cast<uint32_t>(log.size());
    attr.log_level = 1;
    fd = Bpf(BPF_PROG_LOAD, &attr);
    if (fd >= 0) return Napi::Number::New(env, static_cast<double>(fd));
  }
  if (fd < 0) {
    int err = errno;
    std::string verifier(log.data(), strnlen(log.data(), log.size()));
    while (!verifier.empty() && verifier.back() == '\n') verifier.pop_back();
    std::string context = std::to_string(program.size()) + " instructions";
    if (!verifier.empty()) context += "; verifier: " + verifier;
    throw SystemError(env, err, "bpf(BPF_PROG_LOAD)", context);
  }
  return Napi::Number::New(env, static_cast<double>(fd));
}

// bpf(BPF_PROG_ATTACH or BPF_PROG_DETACH) of options.programFd as a device program of
// options.cgroupFd.
Napi::Value ChangeCgroupDeviceProgram(const Napi::CallbackInfo& info, const char* fn, int command, uint32_t flags,
                                      const char* syscall_name) {
  Napi::Env env = info.Env();
  Napi::Object options = OptionsArg(info, fn);
  union bpf_attr attr;
  memset(&attr, 0, sizeof(attr));
  attr.target_fd = static_cast<uint32_t>(FdOption(options, "cgroupFd", fn));
  attr.attach_bpf_fd = static_cast<uint32_t>(FdOption(options, "programFd", fn));
  attr.attach_type = BPF_CGROUP_DEVICE;
  attr.attach_flags = flags;
  if (Bpf(command, &attr) != 0) throw SystemError(env, errno, syscall_name);
  return env.Undefined();
}

// With BPF_F_ALLOW_MULTI the programs of the cgroup and of its ancestors all run, and
// all must allow.
Napi::Value AttachCgroupDeviceProgram(const Napi::CallbackInfo& info) {
  return ChangeCgroupDeviceProgram(info, "attachCgroupDeviceProgram", BPF_PROG_ATTACH, BPF_F_ALLOW_MULTI,
                                   "bpf(BPF_PROG_ATTACH)");
}

Napi::Value DetachCgroupDeviceProgram(const Napi::CallbackInfo& info) {
  return ChangeCgroupDeviceProgram(info, "detachCgroupDeviceProgram", BPF_PROG_DETACH, 0, "bpf(BPF_PROG_DETACH)");
}

// The ids of the device programs attached to this cgroup itself (not its ancestors').
Napi::Value QueryCgroupDevicePrograms(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "queryCgroupDevicePrograms";
  Napi::Object options = OptionsArg(info, fn);
  uint32_t cgroup_fd = static_cast<uint32_t>(FdOption(options, "cgroupFd", fn));
  std::vector<uint32_t> ids(64);
  for (;;) {
    union bpf_attr attr;
    memset(&attr, 0, sizeof(attr));
    attr.query.target_fd = cgroup_fd;
    attr.query.attach_type = BPF_CGROUP_DEVICE;
    attr.query.prog_ids = reinterpret_cast<uint64_t>(ids.data());
    attr.query.prog_cnt = static_cast<uint32_t>(ids.size());
    if (Bpf(BPF_PROG_QUERY, &attr) == 0) {
      Napi::Array result = Napi::Array::New(env, attr.query.prog_cnt);
      for (uint32_t i = 0; i < attr.query.prog_cnt; i++) result.Set(i, Napi::Number::New(env, ids[i]));
      return result;
    }
    // ENOSPC: more programs than room; prog_cnt now says how many.
    if (errno != ENOSPC || attr.query.prog_cnt <= ids.size()) throw SystemError(env, errno, "bpf(BPF_PROG_QUERY)");
    ids.resize(attr.query.prog_cnt);
  }
}

Napi::Value OpenBpfProgramById(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "openBpfProgramById";
  Napi::Object options = OptionsArg(info, fn);
  union bpf_attr attr;
  memset(&attr, 0, sizeof(attr));
  attr.prog_id = static_cast<uint32_t>(IntegerOption(options, "id", fn, 0, UINT32_MAX));
  long fd = Bpf(BPF_PROG_GET_FD_BY_ID, &attr);
  if (fd < 0) throw SystemError(env, errno, "bpf(BPF_PROG_GET_FD_BY_ID)", "program " + std::to_string(attr.prog_id));
  return Napi::Number::New(env, static_cast<double>(fd));
}

}  // namespace

void RegisterBpf(Napi::Env env, Napi::Object exports) {
  exports.Set("loadCgroupDeviceProgram", Napi::Function::New(env, LoadCgroupDeviceProgram, "loadCgroupDeviceProgram"));
  exports.Set("attachCgroupDeviceProgram", Napi::Function::New(env, AttachCgroupDeviceProgram, "attachCgroupDeviceProgram"));
  exports.Set("detachCgroupDeviceProgram", Napi::Function::New(env, DetachCgroupDeviceProgram, "detachCgroupDeviceProgram"));
  exports.Set("queryCgroupDevicePrograms", Napi::Function::New(env, QueryCgroupDevicePrograms, "queryCgroupDevicePrograms"));
  exports.Set("openBpfProgramById", Napi::Function::New(env, OpenBpfProgramById, "openBpfProgramById"));
}

}  // namespace nsinit
