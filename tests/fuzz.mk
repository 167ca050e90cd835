# tests/fuzz.mk: the fuzz tests (one fragment per area, so parallel work does not collide in tests/local.mk).
