//! What leaves the core: the queue of [`Action`]s its driver carries out,
//! and which statistics files want lines (`statistics`, `filegen`).

use super::{cryptostats, Actions};

/// The core's outputs.
#[derive(Debug, Default)]
pub struct Outputs {
    /// What the core wants done, for its driver to carry out.
    pub actions: Actions,
    /// Whether peerstats lines are wanted (`statistics peerstats` with a
    /// `statsdir`): they leave as [`super::Action::Statistics`].
    pub peerstats: bool,
    /// Whether loopstats lines are wanted.
    pub loopstats: bool,
    /// Whether clockstats lines are wanted (reference clocks' timecodes).
    pub clockstats: bool,
    /// The cryptostats file's state (`statistics cryptostats`).
    pub cryptostats: cryptostats::CryptoStats,
}
