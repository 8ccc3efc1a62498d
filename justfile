# Everyday commands. `cargo install just` to use them; each recipe is a plain cargo line you can copy.

# The main job end to end against the in-process sandbox (no Omni account needed).
demo:
    cargo run --release -p omni-dbt-batch -- run fixtures/environments.csv --sandbox --force

# The README's test command.
test:
    cargo test --workspace --locked

# Formatting and lints, as CI runs them.
lint:
    cargo fmt --all -- --check
    cargo clippy --workspace --all-targets --locked -- -D warnings

# Everything CI runs.
ci:
    bash .ci/run

# Validate a file offline.
validate FILE="fixtures/environments.csv":
    cargo run --release -p omni-dbt-batch -- validate {{FILE}}

# Run the standalone sandbox on 127.0.0.1:8787.
sandbox *ARGS:
    cargo run --release -p omni-dbt-batch -- sandbox {{ARGS}}

# Benchmark table, also in target/bench/results.json (`just bench rate` runs one scenario).
bench *SCENARIOS:
    cargo run --release -p omni-dbt-bench --locked -- {{ if SCENARIOS == "" { "all" } else { "run " + SCENARIOS } }}

# Write a generated input CSV under target/bench/ (deterministic for a seed).
gen ROWS CONNECTIONS="10" SEED="1":
    cargo run --release -p omni-dbt-bench --locked -- gen --rows {{ROWS}} --connections {{CONNECTIONS}} --seed {{SEED}}
