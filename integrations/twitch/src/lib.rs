//! The twitch integration (being built; see ARCHITECTURE.md §1).
