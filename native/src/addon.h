// The addon's shared declarations. Each feature lives in its own file and
// registers its functions from Init (addon.cc); none keeps JavaScript state
// between calls, and every fd it opens is returned to the caller or closed.
#pragma once

#include <napi.h>

#include <string>
#include <vector>

namespace nsinit {

// errno -> "ENOENT".
std::string ErrnoName(int err);
// An Error with code (ENOENT...), errno (negative, as Node's), syscall; the message says what failed.
Napi::Error SystemError(Napi::Env env, int err, const std::string& syscall, const std::string& context = "");
// A TypeError with code ERR_INVALID_ARG_TYPE.
Napi::Error TypeError(Napi::Env env, const std::string& message);
// info[0] as the options object of function `fn`, or a TypeError.
Napi::Object OptionsArg(const Napi::CallbackInfo& info, const char* fn);
// options[key] as an fd number (0..INT32_MAX), or a TypeError.
int FdOption(Napi::Object options, const char* key, const char* fn);
// object[key] as an integer from min to max, or a TypeError naming `fn: <holder>.<key>`.
int64_t IntegerOption(Napi::Object object, const char* key, const char* fn, int64_t min, int64_t max,
                      const char* holder = "options");
// options[key] as an array of strings without NUL bytes (empty when undefined), or a TypeError.
std::vector<std::string> StringArrayOption(Napi::Object options, const char* key, const char* fn);

// Feature registration, one per source file.
void RegisterProcess(Napi::Env env, Napi::Object exports);  // addon.cc: spawn, waitExit, pidfds, signals, memfds, pipes, flock
void RegisterPty(Napi::Env env, Napi::Object exports);      // pty.cc
void RegisterFdPassing(Napi::Env env, Napi::Object exports); // fdpass.cc
void RegisterNetlink(Napi::Env env, Napi::Object exports);  // netlink.cc
void RegisterBpf(Napi::Env env, Napi::Object exports);      // bpf.cc
void RegisterFs(Napi::Env env, Napi::Object exports);       // fs.cc

}  // namespace nsinit
