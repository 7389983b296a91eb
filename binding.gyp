{
  "targets": [
    {
      "target_name": "ringflow",
      "sources": [
        "native/addon.c",
        "native/ring_core.c",
        "native/ring_napi.c",
        "native/engine.c",
        "native/engine_policy.c",
        "native/policy.c",
        "native/policy_napi.c",
        "native/engine_helpers.c",
        "native/engine_groups.c",
        "native/engine_park.c",
        "native/engine_napi.c",
        "native/mem.c",
        "native/net.c",
        "native/owned_fds.c",
        "native/wait.c",
        "native/buffers.c",
        "native/bulk.c",
        "native/cached_stat.c",
        "native/bpf/interp.c",
        "native/bpf/jit.c",
        "native/bpf/check.c",
        "native/bpf/maps.c",
        "native/bpf/helpers.c",
        "native/bpf/napi_bpf.c"
      ],
      "cflags_c": ["-std=gnu11", "-O2", "-Wall", "-Wextra", "-Wno-unused-parameter", "-fno-strict-aliasing", "-fvisibility=hidden"],
      "defines": ["NAPI_VERSION=8", "_GNU_SOURCE"]
    },
    {
      "target_name": "nop_loop",
      "type": "executable",
      "sources": ["bench/c/nop_loop.c"],
      "cflags!": ["-O3"],
      "cflags": ["-O2"]
    },
    {
      "target_name": "echo_uring",
      "type": "executable",
      "sources": ["bench/c/echo_uring.c"],
      "cflags!": ["-O3"],
      "cflags": ["-O2"]
    },
    {
      "target_name": "echo_client",
      "type": "executable",
      "sources": ["bench/c/echo_client.c"],
      "cflags!": ["-O3"],
      "cflags": ["-O2"]
    }
  ]
}
