// EBPF cgroup device programs (issue 5).
#include "addon.h"

namespace nsinit {

void RegisterBpf(Napi::Env /*env*/, Napi::Object /*exports*/) {}

}  // namespace nsinit
