//! Shared utilities for launching kernels.

pub mod tma;
