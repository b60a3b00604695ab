//! The proof a read of facts and clocks needs: see [`crate::deadlines::read_model`].

/// Proof that the read model was brought up to date before this transaction began (or
/// that this is the projector's own transaction, which brings it up to date). Made only
/// inside the deadlines capability, by [`crate::deadlines::read_model`] and the projector.
#[derive(Debug, Clone, Copy)]
pub struct Current {
    _made_here: (),
}

impl Current {
    pub(in crate::deadlines) fn caught_up() -> Current {
        Current { _made_here: () }
    }
}
