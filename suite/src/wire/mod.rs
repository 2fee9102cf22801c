//! Typed wire objects and parsers the checks judge.

pub mod mcp;
pub mod www_authenticate;
