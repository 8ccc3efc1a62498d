//! The `omni-dbt-batch` command line.
fn main() {}
