//! The whatsapp integration (being built; see ARCHITECTURE.md §1).
