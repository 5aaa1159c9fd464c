{
  "targets": [
    {
      "target_name": "rawnet",
      "sources": ["native/rawnet.c", "native/relay.c", "native/probe.c"],
      "cflags": ["-Wall", "-Wextra", "-O2", "-std=gnu11", "-pthread"],
      "ldflags": ["-pthread"],
      "cflags!": ["-fno-exceptions"]
    }
  ]
}
