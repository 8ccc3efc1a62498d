//! Tests of the read phase as a whole: the fixtures, and properties of the readers.

mod fixtures;
mod props;
