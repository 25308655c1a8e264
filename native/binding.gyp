{
  "targets": [
    {
      "target_name": "nsinit",
      "sources": ["src/addon.cc", "src/common.cc", "src/pty.cc", "src/fdpass.cc", "src/netlink.cc", "src/bpf.cc", "src/fs.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "_GNU_SOURCE"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-Wall", "-Wextra", "-Wno-missing-field-initializers"]
    },
    {
      "target_name": "nsinit-init",
      "type": "executable",
      "sources": ["helper/main.c", "helper/program.c", "helper/ops.c", "helper/report.c"],
      "defines": ["_GNU_SOURCE"],
      "cflags": ["-std=gnu11", "-O2", "-Wall", "-Wextra", "-Wno-missing-field-initializers", "-fno-strict-aliasing"],
      "ldflags": ["-static"]
    }
  ]
}
