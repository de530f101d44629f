"""Location over many seeds: one IR code or two per room entry (bench_entry_rule)."""
