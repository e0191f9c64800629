//! The youtube integration (being built; see ARCHITECTURE.md §1).
