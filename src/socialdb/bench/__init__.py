"""The benchmark: `socialdb bench generate` and `socialdb bench run` (optional extra `bench`)."""
