//! Cầu's recorder: turns a session's media into archive files and keeps their catalogue.
//!
//! Nothing is recorded yet. The recorder issue builds it here: another subscriber of the
//! session (in-process, fed from the sfu without extra encryption, or its own process over
//! WHEP), crash-safe WebM per participant written live under `.part` names, finalised with
//! cues, SHA-256 and a manifest per session, and a composite archive view.
