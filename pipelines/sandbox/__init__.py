"""The local Symetrisk sandbox: a real HTTP server with a deterministic synthetic portfolio of
Norwegian SMEs, so the pipeline, the tests and the benchmarks run without the real API.

`server.SandboxServer` starts it in-process; `symetrisk sandbox` (command.py) starts it from
the shell."""
