// Pty pairs: open, window size, termios (issue 4).
#include "addon.h"

namespace nsinit {

void RegisterPty(Napi::Env /*env*/, Napi::Object /*exports*/) {}

}  // namespace nsinit
