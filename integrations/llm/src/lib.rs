//! Anthropic and OpenAI providers for the analysis of ARCHITECTURE.md §5 (being built).
