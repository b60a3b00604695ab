//! The synced records every capability reads: their storage with the answered mutations
//! and the conflicts ([`store`]), and who reaches which of them as helpers are assigned and
//! released and records move ([`reach`]). The sync protocol ([`crate::sync`]) writes them;
//! deadlines, photo evidence, ledgers and the registry read them.

pub mod reach;
pub mod store;
pub mod typed;
