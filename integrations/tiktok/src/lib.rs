//! The tiktok integration (being built; see ARCHITECTURE.md §1).
