//! The meta integration (being built; see ARCHITECTURE.md §1).
