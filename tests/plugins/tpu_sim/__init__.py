"""tpu_sim plugin tests (a package, so that its test_conformance module does not clash with the cpu one)."""
