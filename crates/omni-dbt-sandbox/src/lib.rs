//! The local Omni stand-in: an axum server over an in-memory store, with fault injection.
